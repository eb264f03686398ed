import type {
  DependencyResult,
  Execution,
  JsonObject,
  JsonValue,
  NewEvent,
  NewTask,
  Task,
  TaskError,
  TaskEvent,
  TaskSchemas,
  TaskStatus,
  RetryPolicy,
  WaitAnswer,
} from "../types.js";
import type { WaitSpec } from "../types.js";
import type { A2aStateStore } from "../a2a-state/types.js";
import type { IdempotencyStore } from "../idempotency/types.js";
import type { NodeStore } from "../nodes/types.js";
import type { LimitStore } from "../limits/types.js";
import type { ExecutionPlacement } from "../placement/types.js";

/**
 * The persistence interface the engine runs on. The store is the queue: every state change of
 * the engine is one call here, atomic, and returns the events it appended so the engine can
 * publish them live. Implementations: `MemoryStore` (core), the Prisma store (SQLite/PostgreSQL).
 * Every implementation must pass the contract suite in `@aipartnerupflow/core/testing`.
 *
 * One clock: every operation that depends on time takes `now` (required; a call without it is
 * refused), and no store reads the clock itself, so the engine's clock alone decides leases,
 * `runAt` and timestamps (and tests can drive it).
 */
export interface TaskStore {
  /** Write validated tasks atomically: all rows or none. An id that exists already is refused. */
  createTasks(tasks: NewTask[], now: Date): Promise<MutationResult<{ tasks: Task[] }>>;

  /**
   * Start an execution of a tree, or of one task inside it (docs/semantics.md#re-execution), atomically: refuse a
   * second running execution of the same tree, pick the run set, reset finished tasks in it to
   * pending, queue them, and append `tree.started`. An empty run set finishes at once.
   */
  startExecution(request: StartExecutionRequest): Promise<MutationResult<{ execution: Execution }>>;

  /**
   * Store new trees and start one execution of each (of its root, re-running nothing: a fresh
   * tree's run set is every task that did not arrive finished) in one atomic write: all trees
   * queued, or none stored. `starts` names each tree's root and execution. Optional: without it
   * the engine calls `createTasks` and then `startExecution` per tree.
   */
  submitTrees?(
    tasks: NewTask[],
    starts: SubmitStart[],
    now: Date,
  ): Promise<MutationResult<{ tasks: Task[]; executions: Execution[] }>>;

  /**
   * When the next task that is queued with its dependencies resolved becomes due: the earliest
   * `runAt` (a retry's backoff included) after `now`, a task whose root's `runAt` is later waiting
   * for that (docs/semantics.md#run-at). Null when no queued task waits for a time. The engine
   * wakes then instead of at its next poll. Optional: without it the engine polls.
   */
  nextDueAt?(options: NextDueOptions): Promise<Date | null>;

  /**
   * Take up to `limit` ready tasks (priority, then FIFO), mark them in progress and lease them.
   * Ready: pending, dependencies resolved, queued by a running execution, its own `runAt` and its
   * root's due, its executor in `options.executors` (when given), and room in every limit of the
   * store's `limits` facet (docs/semantics.md#limits). A task a limit blocks is skipped, never the
   * tasks queued behind it.
   */
  claimReady(options: ClaimOptions): Promise<MutationResult<{ claimed: ClaimedTask[] }>>;

  /**
   * Finish a claimed task: completed, failed (cascading `DEPENDENCY_FAILED` to required
   * dependents, or back to pending when `retryAt` is given), or cancelled. Refused with
   * `LeaseLostError` when the token is not the task's current lease token.
   */
  finishTask(taskId: string, leaseToken: string, outcome: TaskOutcome, now: Date): Promise<FinishResult>;

  /**
   * Finish several claimed tasks in one write (one transaction for SQL stores): the engine
   * batches the outcomes of tasks that end together. Each item is applied or refused on its own,
   * exactly as `finishTask` would. Optional: without it the engine calls `finishTask` per task.
   * `events` are in `seq` order; one task's events keep their order, items may interleave.
   */
  finishTasks?(items: FinishItem[], now: Date): Promise<FinishBatchResult>;

  /** Extend leases. Lost tokens and tasks whose cancellation was requested are reported. */
  renewLeases(owner: string, leases: LeaseRef[], leaseMs: number, now: Date): Promise<RenewResult>;

  /**
   * Return tasks whose lease expired to pending (attempt history keeps the lost attempt). A task
   * fails with `LEASE_EXPIRED` instead when its retry policy (its own, else its executor's in
   * `options.executorRetry`) has no attempt left or, without any, when it reached `options.maxAttempts` (a task that keeps killing its
   * worker must not take down every worker in turn).
   */
  reclaimExpired(now: Date, options?: ReclaimOptions): Promise<MutationResult<{ tasks: Task[] }>>;

  /**
   * Cancel a task (and, for a root, every non-terminal task of its tree). Pending tasks become
   * cancelled at once; running ones are flagged and reported so their owner can abort them.
   * Idempotent: terminal tasks are left alone.
   */
  cancel(taskId: string, options: CancelOptions): Promise<CancelResult>;

  /** Persist progress of a running task and append a `task.progress` event. */
  reportProgress(
    taskId: string,
    leaseToken: string,
    progress: number,
    message: string | undefined,
    now: Date,
  ): Promise<MutationResult<Record<never, never>>>;

  /** Persist inputs changed by a `beforeTask` hook while the task runs. */
  saveInputs(taskId: string, leaseToken: string, inputs: JsonObject): Promise<void>;

  /** Persist an executor checkpoint for the running task (read back as `lastCheckpoint`). */
  saveCheckpoint(taskId: string, leaseToken: string, state: JsonValue): Promise<void>;

  /**
   * Answer a waiting task (docs/semantics.md#waiting): a compare-and-set on status `waiting`, so
   * of concurrent answers to a wait that needs one, the first wins and the others are refused
   * with `InvalidTransitionError` (-32006). The answer is recorded on `wait.answers`; when the
   * answers reach `wait.required` (or the answer rejects) the task is pending again (`task.resumed`)
   * and is claimed like any other; otherwise it stays waiting (`task.waiting`).
   */
  resumeTask(taskId: string, answer: WaitAnswer, now: Date): Promise<MutationResult<{ task: Task; resumed: boolean }>>;

  /** Waiting tasks that wait for `event` with the same `key` (null: a wait without key), oldest first. */
  findWaiting(query: WaitingQuery): Promise<Task[]>;

  /**
   * Apply `onTimeout` to waiting tasks whose deadline is <= now, exactly once whatever the number
   * of engines calling it (a conditional write on status and deadline): `fail` fails the task
   * (`WAIT_TIMEOUT`, dependents cascade), `resume` queues it again with `wait.timedOut`.
   */
  expireWaits(
    now: Date,
    options?: { limit?: number },
  ): Promise<MutationResult<{ tasks: Task[]; finished: Execution[] }>>;

  appendEvents(events: NewEvent[]): Promise<TaskEvent[]>;
  readEvents(query: EventQuery): Promise<TaskEvent[]>;

  getTask(id: string): Promise<Task | null>;
  getTasks(ids: string[]): Promise<Task[]>;
  listTasks(query?: TaskQuery): Promise<TaskPage>;
  /** Every task of the tree, roots first then in creation order. */
  getTree(rootId: string): Promise<Task[]>;
  getChildren(parentId: string): Promise<Task[]>;
  countByStatus(query?: CountQuery): Promise<Record<TaskStatus, number>>;
  getAttempts(taskId: string): Promise<AttemptRecord[]>;

  getExecution(id: string): Promise<Execution | null>;
  /** Executions oldest first; with `limit`, the newest `limit` of them (still oldest first). */
  listExecutions(query?: { rootId?: string; status?: Execution["status"]; limit?: number }): Promise<Execution[]>;

  /** Change what a task will do. Only tasks that are not running may be updated. */
  updateTask(id: string, patch: TaskPatch, now: Date): Promise<Task>;

  /**
   * Delete a task and its descendants. Refused (`CannotDeleteError`) while any of them is
   * running or when a task outside the deleted set depends on one of them.
   */
  deleteTask(id: string): Promise<{ deleted: string[] }>;

  close(): Promise<void>;

  /** Idempotency keys and unique trees (a separate facet; the engine refuses keys without it). */
  readonly idempotency?: IdempotencyStore;
  /** A2A conversation state and push configs (a separate facet; kept in memory without it). */
  readonly a2a?: A2aStateStore;
  /** The node registry of the processes sharing this store (a separate facet). */
  readonly nodes?: NodeStore;
  /** Concurrency and start-rate limits, enforced by `claimReady` (no limits without it). */
  readonly limits?: LimitStore;
  /**
   * True when the store lives in this process only (MemoryStore): nothing it holds outlives the
   * process, so a task that finished can never be found unrecorded by another process, and the
   * engine claims for freed slots without waiting for their outcomes to be written first.
   */
  readonly inProcess?: boolean;
}

export interface MutationResultBase {
  /** Events appended by the mutation, in `seq` order, for the engine to publish. */
  events: TaskEvent[];
}
export type MutationResult<T> = T & MutationResultBase;

export interface StartExecutionRequest {
  /** The root of the tree, or a task inside it. */
  taskId: string;
  /** `failed` (default): re-run what did not complete and its dependents; `all`: everything. */
  rerun?: "failed" | "all";
  demo?: boolean;
  userId?: string | null;
  executionId?: string;
  /** Where its tasks are placed (docs/architecture.md#placement); no preference when absent. */
  placement?: ExecutionPlacement;
  now: Date;
}

export interface SubmitStart {
  rootId: string;
  executionId: string;
  demo?: boolean;
  userId?: string | null;
  /** Where its tasks are placed (docs/architecture.md#placement); no preference when absent. */
  placement?: ExecutionPlacement;
}

export interface NextDueOptions {
  now: Date;
}

export interface ClaimOptions {
  owner: string;
  limit: number;
  leaseMs: number;
  now: Date;
  /**
   * An allow-list of executor ids (`executorIdOf`): when given, only tasks whose executor is in it
   * are claimed (a node never takes a task it has no executor for). Tasks without an executor
   * (grouping tasks) need none and are always claimable.
   */
  executors?: readonly string[];
  /**
   * The claiming node's tags: a task whose `placement.requires` names a tag not in it is not
   * claimed (absent: only tasks that require no tag).
   */
  tags?: readonly string[];
}

export interface ClaimedTask {
  task: Task;
  leaseToken: string;
  executionId: string;
  demo: boolean;
  dependencies: DependencyResult[];
  lastCheckpoint: JsonValue | null;
}

export type TaskOutcome =
  | { status: "completed"; result: JsonValue | null }
  | { status: "failed"; error: TaskError; retryAt?: Date }
  | { status: "cancelled"; error?: TaskError; result?: JsonValue | null }
  /** The executor waits (`ctx.waitFor`): the task becomes `waiting`, its lease released. */
  | { status: "waiting"; wait: WaitSpec };

export interface FinishResult extends MutationResultBase {
  task: Task;
  /** Executions that this write finished (their `tree.finished` event is in `events`). */
  finished: Execution[];
}

export interface FinishItem {
  taskId: string;
  leaseToken: string;
  outcome: TaskOutcome;
}

export interface FinishBatchResult extends MutationResultBase {
  /** One entry per item, in order: the task as written, or the error that refused it. */
  results: Array<{ taskId: string; task: Task | null; error: Error | null }>;
  finished: Execution[];
}

export interface LeaseRef {
  taskId: string;
  leaseToken: string;
}

export interface RenewResult {
  renewed: string[];
  /** Tasks whose lease this owner no longer holds: their executors must stop, writing nothing. */
  lost: string[];
  /** Tasks still held whose cancellation was requested. */
  cancelRequested: string[];
}

export interface ReclaimOptions {
  /** Attempts allowed to a task without a retry policy (its own or its executor's) before a lost lease fails it. */
  maxAttempts?: number;
  /**
   * Executors' default retry policies by executor id (the registry's `retry`): a task without a
   * policy of its own is reclaimed under its executor's, as a failure of it would be retried.
   */
  executorRetry?: Readonly<Record<string, RetryPolicy>>;
}

export interface CancelOptions {
  reason?: string;
  now: Date;
}

export interface CancelResult extends MutationResultBase {
  /** Tasks that became cancelled (or failed by cascade) at once. */
  cancelled: string[];
  /** Running tasks flagged for cancellation, with the owner holding each. */
  running: Array<{ taskId: string; leaseOwner: string | null }>;
  finished: Execution[];
}

export interface WaitingQuery {
  event: string;
  key?: string | null;
  /** Only tasks of this user. */
  userId?: string | null;
  limit?: number;
}

export interface EventQuery {
  rootId?: string;
  taskId?: string;
  executionId?: string;
  afterSeq?: number;
  limit?: number;
}

export interface TaskQuery {
  userId?: string | null;
  status?: TaskStatus | TaskStatus[];
  rootId?: string;
  parentId?: string | null;
  /** Only roots (tasks without a parent). */
  rootsOnly?: boolean;
  limit?: number;
  offset?: number;
  order?: "createdAt" | "-createdAt";
}

export interface TaskPage {
  tasks: Task[];
  total: number;
}

export interface CountQuery {
  userId?: string | null;
  rootId?: string;
  rootsOnly?: boolean;
}

export interface AttemptRecord {
  attempt: number;
  startedAt: string;
  endedAt: string | null;
  status: TaskStatus;
  error: TaskError | null;
  owner: string | null;
}

export interface TaskPatch {
  name?: string;
  inputs?: JsonObject;
  params?: JsonObject;
  schemas?: TaskSchemas;
  priority?: number;
  metadata?: JsonObject;
  retry?: RetryPolicy | null;
  runAt?: string | null;
}
