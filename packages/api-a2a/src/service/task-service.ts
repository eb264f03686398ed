import {
  type A2aConversation,
  type A2aPushConfig,
  type A2aStateStore,
  ApflowError,
  type AttemptRecord,
  type CopyOptions,
  type Engine,
  ErrorCode,
  type Execution,
  type ExecutorMetadata,
  type ExecutionHandle,
  type JsonObject,
  type JsonValue,
  MemoryA2aStateStore,
  NotFoundError,
  type Registry,
  type Task,
  type TaskEvent,
  type TaskInput,
  type TaskPatch,
  type TaskQuery,
  type TaskStatus,
  type TaskStore,
  type TreeOutcome,
  ValidationError,
  type Waiting,
  queueStatsOf,
  readWaiting,
  checkAnswer,
  ForbiddenError,
  mayAnswer,
  notWaitingError,
} from "@aipartnerupflow/core";
import type { QueueMetrics } from "../metrics/collector.js";
import type { Principal } from "../types.js";
import { assertAccess, canAccess, ownerFilter } from "./access.js";
import { LimitOperations } from "./limits.js";
import { ScheduleOperations } from "./schedules.js";
import { NodeOperations } from "./nodes.js";

export interface CreateResult {
  /** The first (or only) root created. */
  rootId: string;
  rootIds: string[];
  tasks: Task[];
  /** Set when a root's `uniqueKey` was held by a tree: that tree is answered instead. */
  existing?: true;
  existingRootIds?: string[];
  /** Set when this answers an earlier request with the same idempotency key. */
  replayed?: true;
}

export interface ExecuteRequest {
  rerun?: "failed" | "all";
  demo?: boolean;
  secrets?: Record<string, string>;
  /** A repeat with the same key (the caller's) answers the first request's execution. */
  idempotencyKey?: string;
}

export interface TaskDetail {
  task: Task;
  attempts: AttemptRecord[];
  executions: Execution[];
  /** Why the task waits and since when; null unless it is pending. */
  waiting: Waiting | null;
}

/** A task with why it waits (`tasks.get`). */
export type TaskWithWaiting = Task & { waiting: Waiting | null };

export interface RunningStatus {
  taskId: string;
  found: boolean;
  status?: TaskStatus;
  progress?: number;
  running: boolean;
  executionId?: string | null;
}

/** What the A2A surface keeps about a tree: its contextId, message history and last status message. */
export interface A2aConversationState {
  contextId: string | null;
  history: JsonValue[];
  statusMessage: JsonValue | null;
  state: number | null;
}

export type TreeState = "pending" | "running" | "completed" | "failed" | "cancelled";

/** What `follow` streams: events of a tree, one task of it or one execution, from `afterSeq` on. */
export interface FollowQuery {
  rootId?: string;
  taskId?: string;
  executionId?: string;
  afterSeq?: number;
  /** `finished` (default): end after the tree's final event; `never`: follow until aborted. */
  until?: "finished" | "never";
  signal?: AbortSignal;
}

/** The engine as the service reports it (health, queue stats). */
export interface EngineInfo {
  running: boolean;
  active: number;
  concurrency: number;
}

/** An executor as listed to callers. */
export type ExecutorInfo = ExecutorMetadata;

/**
 * Every task operation of every surface (JSON-RPC, A2A, MCP), with the per-user isolation of
 * docs/semantics.md#errors-and-auth applied in one place: a caller only ever sees and touches tasks it may access.
 * The engine, the store and the registry stay inside: surfaces call these methods only.
 */
export class TaskService {
  readonly #engine: Engine;
  readonly #store: TaskStore;
  readonly #registry: Registry;
  readonly #metrics: QueueMetrics | undefined;
  #schedules: ScheduleOperations | undefined;
  #nodes: NodeOperations | undefined;
  #limits: LimitOperations | undefined;
  /** The store's A2A facet; a store without one keeps A2A state in this process only. */
  readonly #a2a: A2aStateStore;

  constructor(engine: Engine, store: TaskStore, registry: Registry, metrics?: QueueMetrics) {
    this.#engine = engine;
    this.#store = store;
    this.#registry = registry;
    this.#metrics = metrics;
    this.#a2a = store.a2a ?? new MemoryA2aStateStore({ maxRoots: 10_000 });
  }

  /** The node registry (`nodes.*`): administrators only. */
  get nodes(): NodeOperations {
    return (this.#nodes ??= new NodeOperations(this.#engine));
  }

  /** Limits (`limits.*`): the store's concurrency and start-rate rules, admins only when auth is on. */
  get limits(): LimitOperations {
    return (this.#limits ??= new LimitOperations(this.#store));
  }

  /** Schedules (`schedules.*`): stored template trees fired by a trigger, isolated per user. */
  get schedules(): ScheduleOperations {
    const metrics = this.#metrics;
    return (this.#schedules ??= new ScheduleOperations(
      this.#engine,
      this.#store,
      metrics ? (fired) => metrics.scheduleFired(fired) : undefined,
    ));
  }

  /**
   * Create trees owned by the caller. Only admins may choose task ids: for anyone else a taken id
   * would answer differently from a free one and so reveal that another user's task exists.
   * Others refer to tasks of the same request by name (ids are generated).
   */
  async create(
    principal: Principal,
    tasks: unknown,
    options: { single?: boolean; idempotencyKey?: string } = {},
  ): Promise<CreateResult> {
    if (!principal.admin) refuseChosenIds(tasks);
    const owned = principal.admin ? tasks : forceOwner(tasks, principal.userId);
    const outcome = await this.#engine.create(
      owned,
      {
        userId: principal.userId,
        ...(options.idempotencyKey !== undefined
          ? { idempotencyKey: options.idempotencyKey, keyOwner: principal.userId }
          : {}),
      },
      options.single ? "single" : "many",
    );
    const { rootIds, existing } = outcome;
    return {
      rootId: rootIds[0] as string,
      rootIds,
      tasks: outcome.trees.flat(),
      ...(existing.length > 0 ? { existing: true as const, existingRootIds: existing } : {}),
      ...(outcome.replayed ? { replayed: true as const } : {}),
    };
  }

  async get(principal: Principal, taskId: string): Promise<Task> {
    return assertAccess(principal, await this.#store.getTask(taskId), taskId);
  }

  async detail(principal: Principal, taskId: string): Promise<TaskDetail> {
    const task = await this.get(principal, taskId);
    const [attempts, executions] = await Promise.all([
      this.#store.getAttempts(taskId),
      this.#store.listExecutions({ rootId: task.rootId, limit: 20 }),
    ]);
    return { task, attempts, executions, waiting: await this.#waitingOf(task, attempts) };
  }

  /** A task with why it waits (`waiting` is null unless it is pending). */
  async getWithWaiting(principal: Principal, taskId: string): Promise<TaskWithWaiting> {
    const task = await this.get(principal, taskId);
    return { ...task, waiting: await this.#waitingOf(task) };
  }

  /** Why a pending task has not started, and since when (null: it is not pending). */
  async waiting(
    principal: Principal,
    taskId: string,
  ): Promise<{ taskId: string; status: TaskStatus; waiting: Waiting | null }> {
    const task = await this.get(principal, taskId);
    return { taskId: task.id, status: task.status, waiting: await this.#waitingOf(task) };
  }

  /** `whyWaiting` over what the store holds: dependencies, attempts, the tree's execution. */
  #waitingOf(task: Task, knownAttempts?: AttemptRecord[]): Promise<Waiting | null> {
    return readWaiting(this.#store, task, this.#engine.clock(), knownAttempts);
  }

  async update(principal: Principal, taskId: string, patch: TaskPatch): Promise<Task> {
    await this.get(principal, taskId);
    return this.#store.updateTask(taskId, patch, this.#engine.clock());
  }

  async delete(principal: Principal, taskId: string): Promise<{ deleted: string[] }> {
    const task = await this.get(principal, taskId);
    const out = await this.#store.deleteTask(taskId);
    // A deleted tree's A2A state (history, push configs) goes with it.
    if (task.parentId === null) await this.#a2a.forget([task.id]);
    return out;
  }

  async list(principal: Principal, query: TaskQuery): Promise<{ tasks: Task[]; total: number }> {
    const q: TaskQuery = { ...query, ...ownerFilter(principal) };
    if (principal.admin && query.userId !== undefined) q.userId = query.userId;
    return this.#store.listTasks(q);
  }

  async count(
    principal: Principal,
    query: { rootId?: string; rootsOnly?: boolean; userId?: string | null },
  ): Promise<{ counts: Record<TaskStatus, number>; total: number }> {
    if (query.rootId !== undefined) await this.get(principal, query.rootId);
    const q = { ...query, ...ownerFilter(principal) };
    if (principal.admin && query.userId !== undefined) q.userId = query.userId;
    const counts = await this.#store.countByStatus(q);
    return { counts, total: Object.values(counts).reduce((a, b) => a + b, 0) };
  }

  /** The whole tree of a task (given any task of it). */
  async tree(principal: Principal, taskId: string): Promise<Task[]> {
    const task = await this.get(principal, taskId);
    return this.#store.getTree(task.rootId);
  }

  async children(principal: Principal, parentId: string): Promise<Task[]> {
    await this.get(principal, parentId);
    return this.#store.getChildren(parentId);
  }

  async copy(
    principal: Principal,
    taskId: string,
    options: CopyOptions & { idempotencyKey?: string },
  ): Promise<Task[] | TaskInput[]> {
    await this.get(principal, taskId);
    return this.#engine.copy(taskId, {
      ...options,
      userId: principal.userId,
      ...(options.idempotencyKey !== undefined ? { keyOwner: principal.userId } : {}),
    });
  }

  async execute(principal: Principal, taskId: string, request: ExecuteRequest = {}): Promise<ExecutionHandle> {
    const task = await this.get(principal, taskId);
    return this.#engine.execute(taskId, {
      ...(request.rerun ? { rerun: request.rerun } : {}),
      ...(request.demo !== undefined ? { demo: request.demo } : {}),
      ...(request.secrets ? { secrets: request.secrets } : {}),
      ...(request.idempotencyKey !== undefined
        ? { idempotencyKey: request.idempotencyKey, keyOwner: principal.userId }
        : {}),
      userId: task.userId,
    });
  }

  async cancel(
    principal: Principal,
    taskId: string,
    reason?: string,
  ): Promise<{ cancelled: string[]; running: string[] }> {
    await this.get(principal, taskId);
    const result = await this.#engine.cancel(taskId, reason);
    return { cancelled: result.cancelled, running: result.running.map((r) => r.taskId) };
  }

  /**
   * Answer a waiting task (docs/semantics.md#waiting): the caller must see the task and, when the
   * wait lists approvers, be one of them (or an admin: -32004 otherwise); `input` must match the
   * wait's schema (-32602 naming the field). The first answer that completes the wait wins; a
   * later one gets -32006.
   */
  async resume(
    principal: Principal,
    request: { taskId: string; input: JsonValue },
  ): Promise<{ task: Task; resumed: boolean }> {
    const task = await this.get(principal, request.taskId);
    if (task.status !== "waiting" || task.wait === null) throw notWaitingError(task.id, task.status);
    if (!mayAnswer(task.wait, principal.userId, principal.admin)) {
      throw new ForbiddenError(`only the listed approvers may answer task ${task.id}`);
    }
    const input = checkAnswer(task.wait, request.input === undefined ? null : request.input);
    return this.#engine.resume(task.id, input, { by: principal.userId });
  }

  /**
   * Answer every task the caller may answer that waits for `event` (with the same `key`) with
   * `payload`. Tasks whose schema the payload does not match, or whose approvers exclude the
   * caller, are skipped and listed.
   */
  async signal(
    principal: Principal,
    request: { event: string; key?: string | null; payload: JsonValue },
  ): Promise<{ resumed: string[]; skipped: Array<{ taskId: string; reason: string }> }> {
    const skipped: Array<{ taskId: string; reason: string }> = [];
    const payload = request.payload === undefined ? null : request.payload;
    const answered = await this.#engine.signal(request.event, request.key ?? null, payload, {
      by: principal.userId,
      ...(principal.admin ? {} : { userId: principal.userId }),
      accept: (task) => {
        if (task.wait === null) return false;
        if (!mayAnswer(task.wait, principal.userId, principal.admin)) {
          skipped.push({ taskId: task.id, reason: "not an approver" });
          return false;
        }
        try {
          checkAnswer(task.wait, payload);
          return true;
        } catch (err) {
          skipped.push({ taskId: task.id, reason: (err as Error).message });
          return false;
        }
      },
    });
    return { resumed: answered.map((t) => t.id), skipped };
  }

  /** Executions running now that the caller may see. */
  async runningExecutions(principal: Principal, limit = 100): Promise<Execution[]> {
    const all = await this.#store.listExecutions({ status: "running", limit: Math.max(limit, 1000) });
    const visible: Execution[] = [];
    for (const e of all) {
      if (principal.admin || e.userId === principal.userId) visible.push(e);
      else if (e.userId === null) {
        const root = await this.#store.getTask(e.rootId);
        if (root && canAccess(principal, root)) visible.push(e);
      }
      if (visible.length >= limit) break;
    }
    return visible;
  }

  async runningStatus(principal: Principal, taskIds: string[]): Promise<RunningStatus[]> {
    const tasks = await this.#store.getTasks(taskIds);
    const byId = new Map(tasks.filter((t) => canAccess(principal, t)).map((t) => [t.id, t]));
    const out: RunningStatus[] = [];
    for (const id of taskIds) {
      const t = byId.get(id);
      if (!t) {
        out.push({ taskId: id, found: false, running: false });
        continue;
      }
      const execution = await this.latestExecution(t.rootId);
      out.push({
        taskId: id,
        found: true,
        status: t.status,
        progress: t.progress,
        running: t.status === "in_progress" || execution?.status === "running",
        executionId: execution?.id ?? null,
      });
    }
    return out;
  }

  /** Persisted events of a tree (or of one task, or one execution) after `afterSeq`. */
  async events(
    principal: Principal,
    query: { taskId?: string; rootId?: string; executionId?: string; afterSeq?: number; limit?: number },
  ): Promise<{ rootId: string; events: TaskEvent[]; lastSeq: number }> {
    const rootId = await this.resolveRoot(principal, query);
    const events = await this.#store.readEvents({
      rootId,
      ...(query.taskId && query.taskId !== rootId ? { taskId: query.taskId } : {}),
      ...(query.executionId ? { executionId: query.executionId } : {}),
      afterSeq: query.afterSeq ?? 0,
      limit: Math.min(query.limit ?? 1000, 10_000),
    });
    const lastSeq = events.length > 0 ? (events[events.length - 1] as TaskEvent).seq : (query.afterSeq ?? 0);
    return { rootId, events, lastSeq };
  }

  /** The tree a query names, after checking access (an execution id resolves through the store). */
  async resolveRoot(
    principal: Principal,
    query: { taskId?: string; rootId?: string; executionId?: string },
  ): Promise<string> {
    if (query.rootId) return (await this.get(principal, query.rootId)).rootId;
    if (query.taskId) return (await this.get(principal, query.taskId)).rootId;
    if (query.executionId) {
      const execution = await this.#store.getExecution(query.executionId);
      if (!execution) throw new NotFoundError("execution", query.executionId);
      await this.get(principal, execution.rootId).catch(() => {
        throw new NotFoundError("execution", query.executionId as string);
      });
      return execution.rootId;
    }
    throw new ApflowError(ErrorCode.InvalidParams, "one of taskId, rootId or executionId is required", {
      errors: [{ path: "taskId", code: "required", message: "one of taskId, rootId or executionId is required" }],
    });
  }

  /** The newest execution of a tree (a running one first). */
  async latestExecution(rootId: string): Promise<Execution | null> {
    const running = await this.#store.listExecutions({ rootId, status: "running", limit: 1 });
    if (running[0]) return running[0];
    const all = await this.#store.listExecutions({ rootId, limit: 1000 });
    let latest: Execution | null = null;
    for (const e of all) if (!latest || e.createdAt >= latest.createdAt) latest = e;
    return latest;
  }

  /** A tree's state: running while an execution runs, else the last execution's outcome. */
  async treeState(root: Task): Promise<{ state: TreeState; execution: Execution | null }> {
    const execution = await this.latestExecution(root.rootId);
    if (execution) return { state: execution.status === "running" ? "running" : execution.status, execution };
    if (root.status === "in_progress" || root.status === "waiting") return { state: "running", execution };
    return { state: root.status === "pending" ? "pending" : root.status, execution };
  }

  /** The root task of a tree the caller may access, or null (missing, foreign or not a root). */
  async findRoot(principal: Principal, rootId: string): Promise<Task | null> {
    const root = await this.#store.getTask(rootId);
    return root && root.parentId === null && canAccess(principal, root) ? root : null;
  }

  /**
   * Events of a tree (or one task, or one execution) after `afterSeq`, then live ones, ending after
   * the tree's final event (or, with `until: "never"`, when `signal` aborts). Access is checked first.
   */
  async *follow(principal: Principal, query: FollowQuery): AsyncGenerator<TaskEvent> {
    const rootId = await this.resolveRoot(principal, query);
    yield* this.#engine.subscribe({
      rootId,
      afterSeq: query.afterSeq ?? 0,
      ...(query.taskId && query.taskId !== rootId ? { taskId: query.taskId } : {}),
      ...(query.executionId ? { executionId: query.executionId } : {}),
      ...(query.until ? { until: query.until } : {}),
      ...(query.signal ? { signal: query.signal } : {}),
    });
  }

  /** Wait until the running execution of a task's tree (if any) finished; null when none runs. */
  async settle(principal: Principal, taskId: string): Promise<TreeOutcome | null> {
    const task = await this.get(principal, taskId);
    const execution = await this.latestExecution(task.rootId);
    if (execution?.status !== "running") return null;
    return this.#engine.wait(execution.id);
  }

  /** Whether A2A state outlives this process (the store has the A2A facet). */
  get a2aPersistent(): boolean {
    return this.#store.a2a !== undefined;
  }

  /** The A2A conversation state of a root the caller may access; null when none or not accessible. */
  async a2aConversation(principal: Principal, rootId: string): Promise<A2aConversation | null> {
    const root = await this.findRoot(principal, rootId);
    return root ? this.#a2a.getConversation(root.id) : null;
  }

  /** Write the A2A conversation state of a root the caller may access (owned by the root's user). */
  async saveA2aConversation(principal: Principal, root: Task, state: A2aConversationState): Promise<void> {
    if (root.parentId !== null || !canAccess(principal, root)) throw new NotFoundError("task", root.id);
    await this.#a2a.putConversation({ ...state, rootId: root.id, owner: root.userId }, this.#engine.clock());
  }

  /** The caller's roots in an A2A context, newest first (administrators: everyone's). */
  async a2aRootsInContext(
    principal: Principal,
    contextId: string,
    page: { limit: number; offset: number },
  ): Promise<{ roots: Task[]; total: number }> {
    const { rootIds, total } = await this.#a2a.listConversations({
      contextId,
      ...(principal.admin ? {} : { owner: principal.userId }),
      limit: page.limit,
      offset: page.offset,
    });
    const roots: Task[] = [];
    for (const id of rootIds) {
      const root = await this.findRoot(principal, id);
      if (root) roots.push(root);
    }
    return { roots, total };
  }

  /** Save a push notification config of a root the caller may access; false when it has too many. */
  async savePushConfig(
    principal: Principal,
    rootId: string,
    config: { configId: string; config: JsonValue; wireVersion: string },
  ): Promise<boolean> {
    const root = await this.findRoot(principal, rootId);
    if (!root) throw new NotFoundError("task", rootId);
    return this.#a2a.putPushConfig({ ...config, rootId: root.id, owner: root.userId }, this.#engine.clock());
  }

  /** The push notification configs of a root the caller may access (none when not accessible). */
  async pushConfigs(principal: Principal, rootId: string): Promise<A2aPushConfig[]> {
    const root = await this.findRoot(principal, rootId);
    return root ? this.#a2a.listPushConfigs(root.id) : [];
  }

  /** Remove a push notification config of a root the caller may access. */
  async deletePushConfig(principal: Principal, rootId: string, configId: string): Promise<boolean> {
    const root = await this.findRoot(principal, rootId);
    return root ? this.#a2a.deletePushConfig(root.id, configId) : false;
  }

  /** Executors that may run here, with their input JSON Schemas. */
  executors(): ExecutorInfo[] {
    return this.#registry.listExecutors();
  }

  hasExecutor(id: string): boolean {
    return this.#registry.hasExecutor(id);
  }

  /** Whether idempotency keys and unique trees work here (the store has the idempotency facet). */
  get idempotent(): boolean {
    return this.#engine.idempotency !== null;
  }

  engineInfo(): EngineInfo {
    return { running: this.#engine.running, active: this.#engine.activeCount, concurrency: this.#engine.concurrency };
  }

  async queueStats(principal: Principal): Promise<JsonObject> {
    const { counts, total } = await this.count(principal, {});
    const running = await this.runningExecutions(principal, 10_000);
    const now = this.#engine.clock();
    const reader = queueStatsOf(this.#store);
    // Non-admins see their own queue; the event counters and durations cover everyone (admins).
    const queue = reader
      ? await reader.queueStats(principal.admin ? { now } : { now, userId: principal.userId })
      : null;
    const figures = principal.admin && this.#metrics ? await this.#metrics.snapshot(queue) : { queue };
    return {
      counts,
      total,
      runningExecutions: running.length,
      engine: { ...this.engineInfo() },
      ...(JSON.parse(JSON.stringify(figures)) as JsonObject),
    };
  }
}

/** Non-admin callers create tasks for themselves only, whatever `userId` the tasks name. */
function refuseChosenIds(tasks: unknown): void {
  if (!Array.isArray(tasks)) return;
  const issues = tasks.flatMap((t: unknown, i) =>
    t && typeof t === "object" && !Array.isArray(t) && (t as { id?: unknown }).id !== undefined
      ? [
          {
            path: `tasks[${i}].id`,
            code: "id_not_allowed",
            message: "only admins may choose task ids; leave id out and refer to tasks by name",
          },
        ]
      : [],
  );
  if (issues.length > 0) throw new ValidationError(issues);
}

function forceOwner(tasks: unknown, userId: string | null): unknown {
  if (!Array.isArray(tasks)) return tasks;
  return tasks.map((t: unknown) => (t && typeof t === "object" && !Array.isArray(t) ? { ...t, userId } : t));
}
