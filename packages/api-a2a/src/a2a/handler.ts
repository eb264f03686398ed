import type { JsonValue } from "@aipartnerupflow/core";
import type {
  AgentCard,
  CancelTaskRequest,
  Message,
  SendMessageRequest,
  StreamResponse,
  SubscribeToTaskRequest,
  Task as A2aTask,
} from "@a2a-js/sdk";
import { TaskState } from "@a2a-js/sdk";
import {
  RequestMalformedError,
  TaskNotCancelableError,
  TaskNotFoundError,
  UnsupportedOperationError,
} from "@a2a-js/sdk/errors";
import {
  DefaultRequestHandler,
  type PushNotificationSender,
  type PushNotificationStore,
  type ServerCallContext,
} from "@a2a-js/sdk/server";
import { PlannerUnavailableError, planTree } from "../service/plan.js";
import type { TaskService } from "../service/task-service.js";
import type { Principal } from "../types.js";
import { toA2aError } from "./errors.js";
import type { EngineAgentExecutor } from "./executor.js";
import { TERMINAL_A2A_STATES, toStatusUpdate } from "./mapping.js";
import { type MessagePlan, PLAN_KEY, dataOf, messageKey, methodOf, tasksOf } from "./plan.js";
import type { EngineA2aTaskStore } from "./task-store.js";
import { principalOf, secretsOf, signalOf } from "./user.js";
import { answerOf, WaitTracker, waitingTasks } from "./waiting.js";

/** Runs another JSON-RPC task operation for a message whose `metadata.method` names it. */
export type MethodCaller = (
  method: string,
  params: unknown,
  principal: Principal,
  secrets: Record<string, string> | undefined,
) => Promise<JsonValue | null>;

export interface HandlerDeps {
  card: AgentCard;
  service: TaskService;
  taskStore: EngineA2aTaskStore;
  executor: EngineAgentExecutor;
  callMethod: MethodCaller;
  pushStore: PushNotificationStore;
  pushSender: PushNotificationSender;
}

/**
 * The SDK's request handler with our semantics where its defaults do not fit:
 * - a message is read (and its tree created) before the SDK runs the executor, so a bad tree is
 *   a JSON-RPC error rather than a failed task, and the A2A task id is the root id;
 * - cancel goes to the engine (whichever surface started the tree) and answers once it settled;
 * - resubscribe follows the tree's running execution from the store and bus, so it also works for
 *   trees started through JSON-RPC, MCP, another connection or another node.
 */
export class ApflowRequestHandler extends DefaultRequestHandler {
  private readonly deps: HandlerDeps;

  constructor(deps: HandlerDeps) {
    super(deps.card, deps.taskStore, deps.executor, undefined, deps.pushStore, deps.pushSender);
    this.deps = deps;
  }

  override async sendMessage(params: SendMessageRequest, context: ServerCallContext): Promise<Message | A2aTask> {
    const plan = await this.prepare(params, context);
    if (plan.kind === "seen") return this.seenTask(plan.rootId, params, context);
    return super.sendMessage(params, context);
  }

  override async *sendMessageStream(
    params: SendMessageRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    const plan = await this.prepare(params, context);
    if (plan.kind === "seen") {
      // A retried stream: follow the tree the first message created (or answer it, finished).
      const task = await this.deps.taskStore.load(plan.rootId, context);
      if (!task) throw new TaskNotFoundError(`Task not found: ${plan.rootId}`);
      const state = task.status?.state;
      if (state !== undefined && TERMINAL_A2A_STATES.has(state)) {
        yield { payload: { $case: "task", value: task } };
        return;
      }
      yield* this.resubscribe({ id: plan.rootId, tenant: params.tenant } as SubscribeToTaskRequest, context);
      return;
    }
    yield* super.sendMessageStream(params, context);
  }

  /** The task a seen message created; a blocking request waits for its running execution first. */
  private async seenTask(rootId: string, params: SendMessageRequest, context: ServerCallContext): Promise<A2aTask> {
    if (!params.configuration?.returnImmediately) {
      try {
        await this.deps.service.settle(principalOf(context), rootId);
      } catch (err) {
        throw toA2aError(err);
      }
    }
    const task = await this.deps.taskStore.load(rootId, context);
    if (!task) throw new TaskNotFoundError(`Task not found: ${rootId}`);
    return task;
  }

  /**
   * Cancel the tree and answer with it cancelled. The state is decided by the store, never by the
   * view a stream of this tree may still be replaying (which lags behind the engine): a tree that
   * finished before the request is not cancelable; any other ends cancelled once it settled.
   */
  override async cancelTask(params: CancelTaskRequest, context: ServerCallContext): Promise<A2aTask> {
    const { service, taskStore } = this.deps;
    const principal = principalOf(context);
    const root = await service.findRoot(principal, params.id);
    if (!root) throw new TaskNotFoundError(`Task not found: ${params.id}`);
    const before = (await service.treeState(root)).state;
    if (before === "completed" || before === "failed") {
      throw new TaskNotCancelableError(`Task not cancelable: ${params.id} already ${before}`);
    }
    try {
      if (before !== "cancelled") await service.cancel(principal, params.id, "cancelled through A2A");
      await service.settle(principal, params.id);
    } catch (err) {
      throw toA2aError(err);
    }
    taskStore.endLive(params.id);
    const latest = await taskStore.load(params.id, context);
    if (!latest) throw new TaskNotFoundError(`Task not found: ${params.id}`);
    const state = latest.status?.state;
    if (state !== TaskState.TASK_STATE_CANCELED) {
      // It finished on its own while the cancel was on its way: say so.
      throw new TaskNotCancelableError(`Task not cancelable: ${params.id} finished before it could be cancelled`);
    }
    return latest;
  }

  override async *resubscribe(
    params: SubscribeToTaskRequest,
    context: ServerCallContext,
  ): AsyncGenerator<StreamResponse, void, undefined> {
    const { service, taskStore } = this.deps;
    if (!params.id?.trim()) throw new RequestMalformedError("task id is required");
    const since = new Date().toISOString();
    const task = await taskStore.load(params.id, context);
    if (!task) throw new TaskNotFoundError(`Task not found: ${params.id}`);
    const state = task.status?.state;
    if (state !== undefined && TERMINAL_A2A_STATES.has(state)) {
      throw new UnsupportedOperationError(`Task ${params.id} is in a terminal state and cannot be subscribed to.`);
    }
    yield { payload: { $case: "task", value: task } };
    const execution = await service.latestExecution(params.id);
    if (execution?.status !== "running") return;
    const signal = signalOf(context);
    const events = service.follow(principalOf(context), {
      executionId: execution.id,
      rootId: execution.rootId,
      afterSeq: 0,
      ...(signal ? { signal } : {}),
    });
    // Which tasks wait now: the snapshot said so already; events keep it current (input-required ↔ working).
    const waits = new WaitTracker(await waitingTasks(service, principalOf(context), params.id));
    const read = (id: string) => service.get(principalOf(context), id).catch(() => null);
    for await (const event of events) {
      // Events older than the snapshot are already reflected in it; the final one always goes out.
      if (event.at < since && event.type !== "tree.finished") continue;
      if (event.type !== "tree.finished") await waits.apply(event, read);
      const value =
        waits.size > 0
          ? waits.update(params.id, task.contextId, event.at, event)
          : toStatusUpdate(event, params.id, task.contextId);
      yield { payload: { $case: "statusUpdate", value } };
    }
  }

  /** Read the message: create its tree, or run the operation it names, or accept a known task id. */
  private async prepare(params: SendMessageRequest, context: ServerCallContext): Promise<MessagePlan> {
    const message = params.message;
    if (!message) throw new RequestMalformedError("request.message is required.");
    const principal = principalOf(context);
    const data = dataOf(message);
    const method = methodOf(message, params.metadata as Record<string, unknown> | undefined);
    let plan: MessagePlan;
    try {
      if (method && method !== "tasks.create" && method !== "tasks.execute") {
        const result = await this.deps.callMethod(method, data ?? {}, principal, secretsOf(context));
        plan = { kind: "reply", method, result };
      } else if (tasksOf(data)) {
        if (message.taskId) throw new RequestMalformedError("a message that creates tasks must not name a taskId");
        const key = this.deps.service.idempotent ? messageKey(message, "create") : undefined;
        const created = await this.deps.service.create(principal, tasksOf(data), {
          single: true,
          ...(key !== undefined ? { idempotencyKey: key } : {}),
        });
        message.taskId = created.rootId;
        if (created.replayed) {
          plan = { kind: "seen", rootId: created.rootId };
        } else {
          if (message.contextId) await this.deps.taskStore.setContextId(principal, created.rootId, message.contextId);
          plan = { kind: "tree", rootId: created.rootId };
        }
      } else if (message.taskId) {
        plan = await this.answer(principal, message);
      } else if (textOf(message)) {
        plan = await this.planned(principal, message, textOf(message), secretsOf(context));
      } else {
        throw new RequestMalformedError(
          'send a data part {"tasks": [...]} to create and run a tree, a plain-text request to plan one, or name an operation in metadata.method',
        );
      }
    } catch (err) {
      throw toA2aError(err);
    }
    context.state.set(PLAN_KEY, plan);
    return plan;
  }

  /**
   * A message to a known task: when a task of its tree waits, the message is the answer (resumed
   * through TaskService, so access, approvers and the schema are checked there) and the request
   * follows the tree from there; otherwise it runs or follows the tree as before.
   */
  private async answer(principal: Principal, message: Message): Promise<MessagePlan> {
    const rootId = message.taskId;
    const root = await this.deps.service.findRoot(principal, rootId);
    if (!root) return { kind: "existing", rootId };
    // A retried answer (same messageId, already in the task's history) answers nothing again: it
    // follows the tree from where it is now.
    const seen = await this.deps.service.a2aConversation(principal, rootId);
    if (
      message.messageId &&
      seen?.history.some((m) => (m as { messageId?: unknown }).messageId === message.messageId)
    ) {
      return { kind: "resumed", rootId, afterSeq: await lastSeqOf(this.deps.service, principal, rootId, rootId) };
    }
    const waiting = await waitingTasks(this.deps.service, principal, rootId);
    if (waiting.length === 0) return { kind: "existing", rootId };
    const { task, input } = answerOf(message, waiting);
    const afterSeq = await lastSeqOf(this.deps.service, principal, rootId, task.id);
    await this.deps.service.resume(principal, { taskId: task.id, input });
    return { kind: "resumed", rootId, afterSeq };
  }

  /**
   * A plain-text request: planned into a tree behind an approval (service/plan.ts), which this
   * message then runs; the tree stops at the approval (input-required) until a reply approves it.
   * Without a planner or provider the refusal says how to configure one.
   */
  private async planned(
    principal: Principal,
    message: Message,
    requirement: string,
    secrets: Record<string, string> | undefined,
  ): Promise<MessagePlan> {
    let plan: Awaited<ReturnType<typeof planTree>>;
    try {
      plan = await planTree(this.deps.service, principal, { requirement, secrets });
    } catch (err) {
      if (err instanceof PlannerUnavailableError) {
        throw new RequestMalformedError(`send a data part {"tasks": [...]} to create and run a tree (${err.message})`);
      }
      throw err;
    }
    const created = await this.deps.service.create(principal, plan.tasks, { single: true });
    message.taskId = created.rootId;
    if (message.contextId) await this.deps.taskStore.setContextId(principal, created.rootId, message.contextId);
    return { kind: "tree", rootId: created.rootId };
  }
}

/** The text of a message's text parts, trimmed ("" when it has none). */
function textOf(message: Message): string {
  return message.parts
    .map((p) => (p.content?.$case === "text" ? p.content.value : ""))
    .join("\n")
    .trim();
}

/** The newest event seq of a tree at or after the last event of one of its tasks (what a follower has seen). */
async function lastSeqOf(service: TaskService, principal: Principal, rootId: string, taskId: string): Promise<number> {
  let after = 0;
  for (;;) {
    const page = await service.events(principal, { rootId, taskId, afterSeq: after, limit: 1000 });
    after = page.lastSeq;
    if (page.events.length < 1000) break;
  }
  for (;;) {
    const page = await service.events(principal, { rootId, afterSeq: after, limit: 1000 });
    after = page.lastSeq;
    if (page.events.length < 1000) return after;
  }
}
