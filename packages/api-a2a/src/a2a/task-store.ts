import type { Task } from "@aipartnerupflow/core";
import type { ListTasksRequest, ListTasksResponse, Task as A2aTask } from "@a2a-js/sdk";
import type { ServerCallContext, TaskStore as A2aTaskStore } from "@a2a-js/sdk/server";
import type { TaskService } from "../service/task-service.js";
import type { Principal } from "../types.js";
import { type A2aOverlay, TERMINAL_A2A_STATES, toA2aState, toA2aTask } from "./mapping.js";
import { principalOf } from "./user.js";

const MAX_OVERLAYS = 10_000;
const MAX_HISTORY = 50;

/**
 * The SDK's task store over ours: an A2A task is a tree (id = root id) and its state is the
 * tree's. What A2A keeps beyond our model (message history, the client's contextId)
 * lives in a bounded in-memory overlay; after a restart those fall back to empty / the root id.
 */
export class EngineA2aTaskStore implements A2aTaskStore {
  private readonly overlays = new Map<string, A2aOverlay & { state?: number }>();
  /** Trees an A2A stream is replaying right now: their view follows the stream, not the store. */
  private readonly live = new Set<string>();

  constructor(private readonly service: TaskService) {}

  /** Remember a client's contextId for a tree created from its message. */
  setContextId(rootId: string, contextId: string): void {
    this.remember(rootId, { ...this.overlays.get(rootId), contextId });
  }

  /**
   * While the SDK processes a stream's events one by one, the tree may already be finished in the
   * store; answering the stream's own state until its final update keeps the SDK from rejecting
   * the intermediate updates. Ends with the terminal save, or after `maxMs` at the latest.
   */
  beginLive(rootId: string, maxMs = 30_000): void {
    this.live.add(rootId);
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
    const root = await this.service.findRoot(principalOf(context), task.id);
    if (!root) return;
    const history = task.history.length > MAX_HISTORY ? task.history.slice(-MAX_HISTORY) : task.history;
    const overlay: A2aOverlay & { state?: number } = { contextId: task.contextId, history };
    // Artifacts a stream published before its final update (the tree's answer) until it ends.
    if (this.live.has(task.id) && task.artifacts.length > 0) overlay.artifacts = task.artifacts;
    if (task.status) overlay.state = task.status.state;
    if (task.status?.message) overlay.statusMessage = task.status.message;
    if (task.status && TERMINAL_A2A_STATES.has(task.status.state)) this.live.delete(task.id);
    this.remember(task.id, overlay);
  }

  async list(params: ListTasksRequest, context: ServerCallContext): Promise<ListTasksResponse> {
    const principal = principalOf(context);
    const pageSize = params.pageSize ?? 50;
    const offset = Math.max(0, Number.parseInt(params.pageToken || "0", 10) || 0);
    const page = await this.service.list(principal, { rootsOnly: true, limit: pageSize, offset, order: "-createdAt" });
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
    const overlay = this.overlays.get(root.id);
    const a2aState =
      this.live.has(root.id) && overlay?.state !== undefined
        ? overlay.state
        : toA2aState((await this.service.treeState(root)).state);
    const view: A2aOverlay = { ...overlay };
    if (overlay?.state !== a2aState) delete view.statusMessage;
    if (this.live.has(root.id) && overlay?.artifacts)
      return { ...toA2aTask(root, a2aState, view), artifacts: overlay.artifacts };
    const tree =
      withArtifacts && TERMINAL_A2A_STATES.has(a2aState) ? await this.service.tree(principal, root.id) : undefined;
    return toA2aTask(root, a2aState, view, tree);
  }

  private remember(id: string, overlay: A2aOverlay & { state?: number }): void {
    this.overlays.delete(id);
    this.overlays.set(id, overlay);
    if (this.overlays.size > MAX_OVERLAYS) {
      const oldest = this.overlays.keys().next().value;
      if (oldest !== undefined) this.overlays.delete(oldest);
    }
  }
}
