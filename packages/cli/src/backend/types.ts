import type {
  AttemptRecord,
  JsonValue,
  QueueStats,
  Task,
  TaskEvent,
  TaskPage,
  TaskPatch,
  TaskQuery,
  TaskStatus,
  TreeOutcome,
  Waiting,
} from "@aipartnerupflow/core";

export interface ListOptions {
  status?: TaskStatus[];
  rootId?: string;
  parentId?: string;
  rootsOnly?: boolean;
  userId?: string;
  limit: number;
  offset: number;
}

/** The store/API query for `tasks list`: newest first, only the filters that were given. */
export function toTaskQuery(options: ListOptions): TaskQuery & { limit: number; offset: number } {
  return {
    ...(options.status?.length ? { status: options.status } : {}),
    ...(options.rootId ? { rootId: options.rootId } : {}),
    ...(options.parentId ? { parentId: options.parentId } : {}),
    ...(options.rootsOnly ? { rootsOnly: true } : {}),
    ...(options.userId ? { userId: options.userId } : {}),
    limit: options.limit,
    offset: options.offset,
    order: "-createdAt",
  };
}

export interface CountOptions {
  rootId?: string;
  rootsOnly?: boolean;
  userId?: string;
}

export interface CopyRequest {
  mode: "minimal" | "full" | "custom";
  taskIds?: string[];
  includeDescendants?: boolean;
}

export interface ExecuteRequest {
  demo?: boolean;
  rerun?: "failed" | "all";
  /** A repeat with the same key answers the first request's execution instead of starting one. */
  idempotencyKey?: string;
}

export interface PlanOptions {
  requirement: string;
  /** provider:model for the planner. */
  model?: string;
}

export interface CreateRequest {
  /** A repeat with the same key answers the first request's trees instead of creating more. */
  idempotencyKey?: string;
}

/** An execution started by the CLI, or one it follows. */
export interface StartedExecution {
  executionId: string;
  rootId: string;
  /** Local mode: the execution's process was gone and this process took it over. */
  resumed?: boolean;
}

export interface CancelSummary {
  /** Tasks that became cancelled (or failed by cascade) at once. */
  cancelled: string[];
  /** Running tasks flagged for cancellation; their engine stops them. */
  running: string[];
}

/** A task with its attempt history and why it waits (`tasks get`, `tasks why`). */
export interface TaskInspection {
  task: Task;
  attempts: AttemptRecord[];
  waiting: Waiting | null;
}

/** Per-executor durations a server counted since it started. */
export interface DurationFigure {
  executorId: string | null;
  count: number;
  sumMs: number;
}

/** Queue figures (`queue stats`): counts, the ready queue and, from a server, what it counted. */
export interface QueueReport {
  counts: Record<TaskStatus, number>;
  total: number;
  /** Null when the store has no queue-stats facet. */
  queue: QueueStats | null;
  /** Servers only (admins): events since the server started. */
  events?: Record<string, number>;
  waitTime?: DurationFigure[];
  runTime?: DurationFigure[];
}

/**
 * What the `tasks` commands and `run` need, served by the local store (local mode) or by a
 * server over JSON-RPC (remote mode). Every method throws `ApflowError`s with core's codes.
 */
export interface TaskBackend {
  readonly mode: "local" | "remote";
  /** Where the tasks live, for messages (`sqlite /path/apflow.db`, `http://host:8000`). */
  readonly location: string;
  get(id: string): Promise<Task>;
  /** A task with its attempts and why it waits. */
  inspect(id: string): Promise<TaskInspection>;
  /** Why each pending task of a tree (as read by `tree`) waits. */
  treeWaiting(tree: readonly Task[]): Promise<Map<string, Waiting>>;
  queueStats(): Promise<QueueReport>;
  list(options: ListOptions): Promise<TaskPage>;
  /** Every task of the tree that holds `id`, roots first. */
  tree(id: string): Promise<Task[]>;
  children(id: string): Promise<Task[]>;
  count(options: CountOptions): Promise<Record<TaskStatus, number>>;
  /** Validate and store one tree per root, atomically. */
  create(tasks: unknown[], request?: CreateRequest): Promise<Task[][]>;
  /**
   * Plan, approve, run — the plan: a plain-language request made into a tree (generate_tree) that
   * waits at an approval task before anything of it runs; stored, not executed.
   */
  plan(request: PlanOptions): Promise<Task[]>;
  update(id: string, patch: TaskPatch): Promise<Task>;
  delete(id: string): Promise<string[]>;
  cancel(id: string): Promise<CancelSummary>;
  /** Answer a waiting task (checked against its wait's schema; -32006 when it is not waiting). */
  resume(id: string, input: JsonValue): Promise<{ task: Task; resumed: boolean }>;
  /** Answer every task waiting for `event` with the same key. */
  signal(event: string, key: string | null, payload: JsonValue): Promise<{ resumed: string[] }>;
  copy(id: string, request: CopyRequest): Promise<Task[]>;
  events(query: { id: string; afterSeq?: number; limit?: number }): Promise<TaskEvent[]>;
  /** Start an execution; its progress comes from `follow`. */
  execute(id: string, request: ExecuteRequest): Promise<StartedExecution>;
  /** Running executions of the tree that holds `id`. */
  running(id: string): Promise<StartedExecution[]>;
  /** Events of one execution (from its start) until `tree.finished`, or of a tree when no execution is given. */
  follow(
    target: { rootId: string; executionId?: string; afterSeq?: number },
    signal?: AbortSignal,
  ): AsyncIterable<TaskEvent>;
  /** Wait for an execution to finish. */
  wait(execution: StartedExecution): Promise<TreeOutcome>;
  close(): Promise<void>;
}
