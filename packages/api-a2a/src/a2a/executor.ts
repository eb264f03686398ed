import { AlreadyExecutingError, type TaskEvent } from "@aipartnerupflow/core";
import { AgentEvent, type AgentExecutor, type ExecutionEventBus, type RequestContext } from "@a2a-js/sdk/server";
import type { TaskService } from "../service/task-service.js";
import { agentMessage, artifactUpdate, dataPart, finishedArtifacts, toA2aTask, toStatusUpdate } from "./mapping.js";
import { type MessagePlan, messageKey, PLAN_KEY } from "./plan.js";
import type { EngineA2aTaskStore } from "./task-store.js";
import { principalOf, secretsOf, signalOf } from "./user.js";
import { WaitTracker, waitingTasks } from "./waiting.js";

/**
 * The SDK's agent executor over our engine. A message's tree was created by the handler; here it
 * runs: one `task` event, then one status update per engine event, the last being the tree's
 * final state. A message that named another operation gets its result as one agent message.
 */
export class EngineAgentExecutor implements AgentExecutor {
  constructor(
    private readonly service: TaskService,
    private readonly taskStore: EngineA2aTaskStore,
  ) {}

  async execute(rc: RequestContext, bus: ExecutionEventBus): Promise<void> {
    const plan = rc.context.state.get(PLAN_KEY) as MessagePlan | undefined;
    if (plan?.kind === "reply") {
      const message = agentMessage("", rc.contextId, [dataPart({ method: plan.method, result: plan.result })]);
      bus.publish(AgentEvent.message(message));
      return;
    }
    const principal = principalOf(rc.context);
    const rootId = rc.taskId;
    let events: AsyncGenerator<TaskEvent>;
    // Set for a streamed request: following ends when its client leaves (the tree runs on).
    const signal = signalOf(rc.context);
    const follow = signal ? { signal } : {};
    if (plan?.kind === "resumed") {
      // The message answered a waiting task (the handler resumed it): follow on from there.
      const running = await this.service.latestExecution(rootId);
      if (!running) throw new Error(`no execution of ${rootId} to follow`);
      events = this.service.follow(principal, { executionId: running.id, rootId, afterSeq: plan.afterSeq, ...follow });
    } else {
      try {
        const secrets = secretsOf(rc.context);
        // A retried message (same messageId) follows the execution the first one started.
        const key = this.service.idempotent ? messageKey(rc.userMessage, "run") : undefined;
        const handle = await this.service.execute(principal, rootId, {
          ...(secrets ? { secrets } : {}),
          ...(key !== undefined ? { idempotencyKey: key } : {}),
        });
        events = handle.events(follow);
      } catch (err) {
        if (!(err instanceof AlreadyExecutingError)) throw err;
        // Already running (started elsewhere): follow that execution instead.
        const running = await this.service.latestExecution(rootId);
        if (!running) throw err;
        events = this.service.follow(principal, { executionId: running.id, rootId, afterSeq: 0, ...follow });
      }
    }
    const root = await this.service.get(principal, rootId);
    this.taskStore.beginLive(rootId);
    // The SDK loaded the task and appended this message to its history (kept in the store).
    const history = rc.task?.history.length ? rc.task.history : [rc.userMessage];
    // Tasks that wait already (another one of the tree, or a replayed tree): input-required at once.
    const waits = new WaitTracker(plan?.kind === "tree" ? [] : await waitingTasks(this.service, principal, rootId));
    const read = (id: string) => this.service.get(principal, id).catch(() => null);
    bus.publish(AgentEvent.task(toA2aTask(root, waits.state(), { contextId: rc.contextId, history })));
    if (waits.size > 0) {
      await events.return(undefined);
      bus.publish(AgentEvent.statusUpdate(waits.update(rootId, rc.contextId, new Date().toISOString())));
      this.taskStore.endLive(rootId);
      return;
    }
    for await (const event of events) {
      if (event.type === "tree.finished") {
        // The answer travels before the final update: the root's result and every task's outcome
        // as artifacts (a blocking SendMessage returns them), a failed tree's error in the message.
        const tree = await this.service.tree(principal, rootId);
        for (const artifact of finishedArtifacts(tree)) {
          bus.publish(AgentEvent.artifactUpdate(artifactUpdate(rootId, rc.contextId, artifact)));
        }
        const finalRoot = tree.find((t) => t.id === rootId);
        bus.publish(AgentEvent.statusUpdate(toStatusUpdate(event, rootId, rc.contextId, finalRoot)));
        continue;
      }
      await waits.apply(event, read);
      if (waits.size > 0) {
        // A question ends this request (A2A's interrupted state): the client answers with a
        // message to the task, which follows the tree on from there.
        bus.publish(AgentEvent.statusUpdate(waits.update(rootId, rc.contextId, event.at, event)));
        this.taskStore.endLive(rootId);
        return;
      }
      bus.publish(AgentEvent.statusUpdate(toStatusUpdate(event, rootId, rc.contextId)));
    }
  }

  async cancelTask(_taskId: string, _bus: ExecutionEventBus): Promise<void> {
    // Cancelling goes through ApflowRequestHandler.cancelTask, which knows the caller and waits
    // for the tree to settle; the running stream then publishes the final `canceled` update.
  }
}
