import {
  AlreadyExecutingError,
  liveNodes,
  checkAnswer,
  Engine,
  type EventBus,
  type JsonValue,
  notWaitingError,
  type ExecutionHandle,
  type PlacementOptions,
  type Logger,
  NotFoundError,
  queueStatsOf,
  readWaiting,
  type Registry,
  type Task,
  type TaskEvent,
  type TaskStore,
  type TreeOutcome,
  treeExecution,
  treeWaiting,
  limitCheckFor,
  type Waiting,
} from "@aipartnerupflow/core";
import { planTree, TaskService } from "@aipartnerupflow/api-a2a";
import type {
  CancelSummary,
  CopyRequest,
  CountOptions,
  CreateRequest,
  ExecuteRequest,
  ListOptions,
  PlanOptions,
  QueueReport,
  StartedExecution,
  TaskBackend,
  TaskInspection,
} from "./types.js";
import { orphanedExecutions } from "./orphans.js";

/** The local user: the CLI acts on its own store with every right. */
const LOCAL_CALLER = { userId: null, admin: true, authenticated: false } as const;
import { toTaskQuery } from "./types.js";

export interface LocalBackendOptions {
  store: TaskStore;
  /** The engine's logger (the CLI passes one writing warnings to stderr). */
  logger?: Logger;
  registry: Registry;
  location: string;
  concurrency: number;
  /** The engine's event bus (`apflow serve`: a node's, carrying other nodes' events). */
  bus?: EventBus;
  /** How executions started here are placed on the nodes (`apflow serve --placement`). */
  placement?: PlacementOptions;
}

/** How often a follower re-reads the store for events written by another process. */
const FOLLOW_POLL_MS = 250;

/**
 * Local mode: the store is opened in this process and executions run in this process's engine
 * (which starts claiming only when something is executed).
 */
export class LocalBackend implements TaskBackend {
  readonly mode = "local" as const;
  readonly location: string;
  readonly engine: Engine;
  readonly store: TaskStore;
  private readonly handles = new Map<string, ExecutionHandle>();

  constructor(options: LocalBackendOptions) {
    this.store = options.store;
    this.location = options.location;
    this.engine = new Engine({
      store: options.store,
      registry: options.registry,
      concurrency: options.concurrency,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.bus ? { bus: options.bus } : {}),
      ...(options.placement ? { placement: options.placement } : {}),
      // Short leases: a cancel requested from another process reaches a running task within ~2 s.
      leaseMs: 6000,
      pollIntervalMs: 500,
    });
  }

  async get(id: string): Promise<Task> {
    const task = await this.store.getTask(id);
    if (!task) throw new NotFoundError("task", id);
    return task;
  }

  async inspect(id: string): Promise<TaskInspection> {
    const task = await this.get(id);
    const attempts = await this.store.getAttempts(id);
    return { task, attempts, waiting: await readWaiting(this.store, task, this.engine.clock(), attempts) };
  }

  async treeWaiting(tree: readonly Task[]): Promise<Map<string, Waiting>> {
    const root = tree[0];
    if (!root || !tree.some((t) => t.status === "pending")) return new Map();
    const execution = await treeExecution(this.store, root.rootId);
    const attempts = new Map();
    for (const t of tree)
      if (t.status === "pending" && t.attempt > 0) attempts.set(t.id, await this.store.getAttempts(t.id));
    const now = this.engine.clock();
    const [nodes, limitOf] = await Promise.all([liveNodes(this.store, now), limitCheckFor(this.store, now)]);
    const capable = nodes ? new Set(nodes.flatMap((n) => n.executors)) : null;
    return treeWaiting(tree, execution, attempts, now, capable, limitOf, nodes);
  }

  async queueStats(): Promise<QueueReport> {
    const counts = await this.store.countByStatus();
    const reader = queueStatsOf(this.store);
    const queue = reader ? await reader.queueStats({ now: this.engine.clock() }) : null;
    return { counts, total: Object.values(counts).reduce((a, b) => a + b, 0), queue };
  }

  list(options: ListOptions) {
    return this.store.listTasks(toTaskQuery(options));
  }

  async tree(id: string): Promise<Task[]> {
    const task = await this.get(id);
    return this.store.getTree(task.rootId);
  }

  async children(id: string): Promise<Task[]> {
    await this.get(id);
    return this.store.getChildren(id);
  }

  count(options: CountOptions) {
    return this.store.countByStatus({
      ...(options.rootId ? { rootId: options.rootId } : {}),
      ...(options.rootsOnly ? { rootsOnly: true } : {}),
      ...(options.userId ? { userId: options.userId } : {}),
    });
  }

  create(tasks: unknown[], request: CreateRequest = {}): Promise<Task[][]> {
    return this.engine.createTrees(
      tasks,
      request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {},
    );
  }

  /** The API's task operations over this store (the plan flow and answers use them). */
  private service(): TaskService {
    return new TaskService(this.engine, this.store, this.engine.registry);
  }

  async plan(request: PlanOptions): Promise<Task[]> {
    // The planner is a task like any other: this engine runs it.
    await this.engine.start();
    const plan = await planTree(this.service(), LOCAL_CALLER, {
      requirement: request.requirement,
      ...(request.model ? { model: request.model } : {}),
    });
    const [tree] = await this.engine.createTrees(plan.tasks);
    return tree ?? [];
  }

  update(id: string, patch: Parameters<TaskStore["updateTask"]>[1]): Promise<Task> {
    return this.store.updateTask(id, patch, this.engine.clock());
  }

  async delete(id: string): Promise<string[]> {
    return (await this.store.deleteTask(id)).deleted;
  }

  async cancel(id: string): Promise<CancelSummary> {
    await this.get(id);
    const result = await this.engine.cancel(id, "cancelled from the CLI");
    return { cancelled: result.cancelled, running: result.running.map((r) => r.taskId) };
  }

  /** The local user is the administrator (no auth): any answer the wait's schema accepts. */
  async resume(id: string, input: JsonValue): Promise<{ task: Task; resumed: boolean }> {
    const task = await this.get(id);
    if (task.status !== "waiting" || task.wait === null) throw notWaitingError(id, task.status);
    return this.engine.resume(id, checkAnswer(task.wait, input), { by: null });
  }

  async signal(event: string, key: string | null, payload: JsonValue): Promise<{ resumed: string[] }> {
    const answered = await this.engine.signal(event, key, payload, {
      accept: (t) => {
        try {
          return t.wait !== null && checkAnswer(t.wait, payload) !== undefined;
        } catch {
          return false;
        }
      },
    });
    return { resumed: answered.map((t) => t.id) };
  }

  async copy(id: string, request: CopyRequest): Promise<Task[]> {
    return (await this.engine.copy(id, {
      mode: request.mode,
      ...(request.taskIds ? { taskIds: request.taskIds } : {}),
      ...(request.includeDescendants ? { includeDescendants: true } : {}),
    })) as Task[];
  }

  async events(query: { id: string; afterSeq?: number; limit?: number }): Promise<TaskEvent[]> {
    const task = await this.get(query.id);
    return this.store.readEvents({
      ...(task.parentId === null ? { rootId: task.id } : { taskId: task.id }),
      ...(query.afterSeq !== undefined ? { afterSeq: query.afterSeq } : {}),
      ...(query.limit !== undefined ? { limit: query.limit } : {}),
    });
  }

  async execute(id: string, request: ExecuteRequest): Promise<StartedExecution> {
    let handle: ExecutionHandle;
    try {
      handle = await this.engine.execute(id, {
        ...(request.demo ? { demo: true } : {}),
        ...(request.rerun ? { rerun: request.rerun } : {}),
        ...(request.idempotencyKey !== undefined ? { idempotencyKey: request.idempotencyKey } : {}),
      });
    } catch (err) {
      if (!(err instanceof AlreadyExecutingError)) throw err;
      const [resumed] = await this.resumeOrphans((await this.get(id)).rootId);
      if (!resumed) throw err;
      return resumed;
    }
    this.handles.set(handle.execution.id, handle);
    return { executionId: handle.execution.id, rootId: handle.execution.rootId };
  }

  async running(id: string): Promise<StartedExecution[]> {
    const task = await this.get(id);
    const resumed = await this.resumeOrphans(task.rootId);
    if (resumed.length > 0) return resumed;
    const executions = await this.store.listExecutions({ rootId: task.rootId, status: "running" });
    return executions.map((e) => ({ executionId: e.id, rootId: e.rootId }));
  }

  /**
   * Take over the running executions of a tree whose process is gone: this engine claims their
   * queued tasks, and the tasks the dead process held come back once their leases expire.
   */
  private async resumeOrphans(rootId: string): Promise<StartedExecution[]> {
    const orphans = await orphanedExecutions(this.store, rootId);
    if (orphans.length === 0) return [];
    await this.engine.start();
    return orphans.map((e) => ({ executionId: e.id, rootId: e.rootId, resumed: true }));
  }

  follow(
    target: { rootId: string; executionId?: string; afterSeq?: number },
    signal?: AbortSignal,
  ): AsyncIterable<TaskEvent> {
    const handle = target.executionId ? this.handles.get(target.executionId) : undefined;
    if (handle) return handle.events(signal ? { signal } : {});
    return this.engine.subscribe({
      rootId: target.rootId,
      ...(target.executionId ? { executionId: target.executionId } : {}),
      ...(target.afterSeq !== undefined ? { afterSeq: target.afterSeq } : {}),
      pollMs: FOLLOW_POLL_MS,
      ...(signal ? { signal } : {}),
    });
  }

  async wait(execution: StartedExecution): Promise<TreeOutcome> {
    // The engine holds the process while an execution is waited for (through a runAt, a backoff,
    // leases to expire), so nothing here needs to.
    return this.handles.get(execution.executionId)?.done ?? this.engine.wait(execution.executionId);
  }

  async close(): Promise<void> {
    try {
      await this.engine.stop();
    } finally {
      await this.store.close();
    }
  }
}
