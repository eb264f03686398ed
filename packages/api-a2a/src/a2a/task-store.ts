import { A2A_MAX_HISTORY, type JsonValue, type Task } from "@aipartnerupflow/core";
import {
  type Artifact,
  type ListTasksRequest,
  type ListTasksResponse,
  Message,
  type Task as A2aTask,
  TaskState,
} from "@a2a-js/sdk";
import type { ServerCallContext, TaskStore as A2aTaskStore } from "@a2a-js/sdk/server";
import type { A2aConversationState, TaskService } from "../service/task-service.js";
import type { Principal } from "../types.js";
import { type A2aOverlay, TERMINAL_A2A_STATES, toA2aState, toA2aTask } from "./mapping.js";
import { principalOf } from "./user.js";
import { inputRequiredMessage, waitingTasks } from "./waiting.js";

const MAX_LIVE = 10_000;

/** A stream's own view of a tree while it replays its events (this process only). */
interface LiveView {
  state?: number;
  artifacts?: Artifact[];
}

/**
 * The SDK's task store over ours: an A2A task is a tree (id = root id) and its state is the
 * tree's. What A2A keeps beyond our model — the client's contextId, the message history (the
 * latest 50), the last status message — is kept in the store's A2A facet through `TaskService`,
 * so another node, or this one after a restart, answers with it. Only the view of a stream that
 * is replaying a tree right now (its state and the artifacts it already sent) stays in memory.
 */
export class EngineA2aTaskStore implements A2aTaskStore {
  /** Trees an A2A stream is replaying right now: their view follows the stream, not the store. */
  private readonly live = new Map<string, LiveView>();
  /** What this process last wrote per root, so that repeated saves of the same state write nothing. */
  private readonly written = new Map<string, string>();

  constructor(private readonly service: TaskService) {}

  /** Remember a client's contextId for a tree created from its message. */
  async setContextId(principal: Principal, rootId: string, contextId: string): Promise<void> {
    const root = await this.service.findRoot(principal, rootId);
    if (!root) return;
    await this.write(principal, root, { contextId, history: [], statusMessage: null, state: null });
  }

  /**
   * While the SDK processes a stream's events one by one, the tree may already be finished in the
   * store; answering the stream's own state until its final update keeps the SDK from rejecting
   * the intermediate updates. Ends with the terminal save, or after `maxMs` at the latest.
   */
  beginLive(rootId: string, maxMs = 30_000): void {
    this.live.set(rootId, {});
    if (this.live.size > MAX_LIVE) {
      const oldest = this.live.keys().next().value;
      if (oldest !== undefined) this.live.delete(oldest);
    }
    setTimeout(() => this.live.delete(rootId), maxMs).unref();
  }

  /** The tree settled (cancelled and waited for): its view follows the store again. */
  endLive(rootId: string): void {
    this.live.delete(rootId);
  }

  async load(taskId: string, context: ServerCallContext): Promise<A2aTask | undefined> {
    const principal = principalOf(context);
    const root = await this.service.findRoot(principal, taskId);
    return root ? this.toA2a(principal, root) : undefined;
  }

  async save(task: A2aTask, context: ServerCallContext): Promise<void> {
    const principal = principalOf(context);
    const root = await this.service.findRoot(principal, task.id);
    if (!root) return;
    const history = task.history.length > A2A_MAX_HISTORY ? task.history.slice(-A2A_MAX_HISTORY) : task.history;
    const view = this.live.get(task.id);
    if (view) {
      // Artifacts a stream published before its final update (the tree's answer) until it ends.
      if (task.artifacts.length > 0) view.artifacts = task.artifacts;
      if (task.status) view.state = task.status.state;
    }
    if (task.status && TERMINAL_A2A_STATES.has(task.status.state)) this.live.delete(task.id);
    await this.write(principal, root, {
      contextId: task.contextId || null,
      history: history.map((m) => Message.toJSON(m) as JsonValue),
      statusMessage: task.status?.message ? (Message.toJSON(task.status.message) as JsonValue) : null,
      state: task.status ? task.status.state : null,
    });
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const principal = principalOf(context);
    const pageSize = params.pageSize ?? 50;
    const offset = Math.max(0, Number.parseInt(params.pageToken || "0", 10) || 0);
    // With a contextId, the store's A2A facet finds the context's roots (on every node).
    const page = params.contextId
      ? await this.service
          .a2aRootsInContext(principal, params.contextId, { limit: pageSize, offset })
          .then((p) => ({ tasks: p.roots, total: p.total }))
      : await this.service.list(principal, { rootsOnly: true, limit: pageSize, offset, order: "-createdAt" });
    const tasks: A2aTask[] = [];
    for (const root of page.tasks) {
      const task = await this.toA2a(principal, root, params.includeArtifacts === true);
      if (params.contextId && task.contextId !== params.contextId) continue;
      if (params.status && task.status?.state !== params.status) continue;
      if (params.statusTimestampAfter && (task.status?.timestamp ?? "") <= params.statusTimestampAfter) continue;
      tasks.push(task);
    }
    const next = offset + page.tasks.length;
    return { tasks, nextPageToken: next < page.total ? String(next) : "", pageSize, totalSize: page.total };
  }

  private async toA2a(principal: Principal, root: Task, withArtifacts = true): Promise<A2aTask> {
    const stored = await this.service.a2aConversation(principal, root.id);
    const view = this.live.get(root.id);
    let a2aState = view?.state !== undefined ? view.state : toA2aState((await this.service.treeState(root)).state);
    // A running tree with a waiting task asks for input; the questions are read fresh (answers may have come in).
    const waiting =
      a2aState === TaskState.TASK_STATE_WORKING || a2aState === TaskState.TASK_STATE_INPUT_REQUIRED
        ? await waitingTasks(this.service, principal, root.id)
        : [];
    if (waiting.length > 0) a2aState = TaskState.TASK_STATE_INPUT_REQUIRED;
    else if (a2aState === TaskState.TASK_STATE_INPUT_REQUIRED) a2aState = TaskState.TASK_STATE_WORKING;
    const overlay: A2aOverlay = {};
    if (stored) {
      if (stored.contextId) overlay.contextId = stored.contextId;
      overlay.history = stored.history.map((m) => Message.fromJSON(m));
      // A status message belongs to the state it was sent with.
      if (stored.statusMessage !== null && stored.state === a2aState)
        overlay.statusMessage = Message.fromJSON(stored.statusMessage);
    }
    if (waiting.length > 0) {
      overlay.statusMessage = inputRequiredMessage(root.id, overlay.contextId ?? root.rootId, waiting);
    }
    if (view?.artifacts) return { ...toA2aTask(root, a2aState, overlay), artifacts: view.artifacts };
    const tree =
      withArtifacts && TERMINAL_A2A_STATES.has(a2aState) ? await this.service.tree(principal, root.id) : undefined;
    return toA2aTask(root, a2aState, overlay, tree);
  }

  private async write(principal: Principal, root: Task, state: A2aConversationState): Promise<void> {
    const history = state.history;
    const last = history[history.length - 1] as { messageId?: unknown } | undefined;
    const status = state.statusMessage as { messageId?: unknown } | null;
    const signature = JSON.stringify([
      state.contextId,
      history.length,
      last?.messageId ?? null,
      status?.messageId ?? null,
      state.state,
    ]);
    if (this.written.get(root.id) === signature) return;
    await this.service.saveA2aConversation(principal, root, state);
    this.written.delete(root.id);
    this.written.set(root.id, signature);
    if (this.written.size > MAX_LIVE) {
      const oldest = this.written.keys().next().value;
      if (oldest !== undefined) this.written.delete(oldest);
    }
  }
}
