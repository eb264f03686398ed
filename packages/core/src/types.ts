import type { TaskPlacement } from "./placement/types.js";
/**
 * Public types of core. The vocabulary they use (task, tree, root, dependency, executor, engine,
 * store, execution, claim, lease, event, node) is defined once, in docs/architecture.md#terminology;
 * what the fields and states mean is in docs/semantics.md.
 */

/** JSON values as they travel through inputs, params and results. */
export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

export const TASK_STATUSES = ["pending", "in_progress", "waiting", "completed", "failed", "cancelled"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];
export type TerminalStatus = "completed" | "failed" | "cancelled";

/** 0 urgent, 1 high, 2 normal, 3 low. Lower runs first. */
export type Priority = 0 | 1 | 2 | 3;

export interface TaskDependency {
  id: string;
  required: boolean;
}

/** The structured error stored on a failed or cancelled task. */
export interface TaskError {
  code: string;
  message: string;
  details?: JsonValue;
}

export interface BackoffPolicy {
  type: "fixed" | "exponential" | "custom";
  delayMs?: number;
  factor?: number;
  maxDelayMs?: number;
  jitter?: boolean;
  /** For `custom`: the id of a backoff function registered in the registry. */
  name?: string;
}

export interface RetryPolicy {
  maxAttempts: number;
  backoff?: BackoffPolicy;
  retryOn?: string[];
  maxElapsedMs?: number;
}

export interface TaskSchemas {
  method?: string;
  inputSchema?: JsonObject;
  outputSchema?: JsonObject;
  [key: string]: JsonValue | undefined;
}

/** The public shape of a stored task (docs/semantics.md#the-task). Timestamps are ISO-8601 UTC strings. */
export interface Task {
  id: string;
  parentId: string | null;
  rootId: string;
  userId: string | null;
  name: string;
  status: TaskStatus;
  priority: Priority;
  dependencies: TaskDependency[];
  inputs: JsonObject;
  params: JsonObject;
  schemas: TaskSchemas;
  result: JsonValue | null;
  error: TaskError | null;
  progress: number;
  attempt: number;
  retry: RetryPolicy | null;
  runAt: string | null;
  originalTaskId: string | null;
  hasChildren: boolean;
  metadata: JsonObject;
  createdAt: string;
  updatedAt: string;
  startedAt: string | null;
  completedAt: string | null;
  /**
   * The wait the task is in (status `waiting`) or was last resumed from (docs/semantics.md#waiting):
   * null when it never waited in this execution.
   */
  wait: TaskWait | null;
  /** Where the task may and would rather run (docs/architecture.md#placement); null when it says nothing. */
  placement: TaskPlacement | null;
  /**
   * The node the task is placed on (a preference of its execution's placement, or dependency
   * affinity): other nodes leave it alone while that node holds it. Null: any capable node.
   */
  placedOn: string | null;
}

/** How a wait ends when its deadline passes: the task fails (`WAIT_TIMEOUT`) or runs again, timed out. */
export type WaitTimeoutAction = "fail" | "resume";

/** What an executor asks for with `ctx.waitFor` (docs/semantics.md#waiting). */
export interface WaitSpec {
  /** One line for the person (or system) asked. */
  prompt: string;
  /** JSON Schema the answer (`input`) must match. */
  schema?: JsonObject;
  /** A named event that answers the wait (`tasks.signal`). */
  event?: string;
  /** With `event`: only a signal with the same key answers it. */
  key?: string;
  /** The wait ends after this long (`onTimeout`). */
  timeoutMs?: number;
  /** Default `fail`. */
  onTimeout?: WaitTimeoutAction;
  /** Only these users (or an admin) may answer; anyone who may see the task when absent. */
  approvers?: string[];
  /** Answers needed before the task runs again (default 1). An answer with `approved: false` ends the wait at once. */
  required?: number;
}

/** One answer to a wait. */
export interface WaitAnswer {
  /** The user who answered (null without auth, or for a signal or a timeout). */
  by: string | null;
  at: string;
  input: JsonValue;
}

/** A wait as stored on the task. */
export interface TaskWait extends Omit<WaitSpec, "timeoutMs"> {
  /** When the wait began. */
  since: string;
  /** When `onTimeout` applies. */
  deadline?: string;
  /** Answers so far, oldest first. */
  answers: WaitAnswer[];
  /** Set when the wait ended and the task went back to the queue. */
  resumedAt?: string;
  /** Set when the wait ended by its deadline (`onTimeout: resume`). */
  timedOut?: boolean;
}

/**
 * One task as a caller writes it in a creation request (the flat array every surface uses).
 * `parentId` and dependency `id`s may name another task of the request by id or by name.
 */
export interface TaskInput {
  id?: string;
  name: string;
  parentId?: string | null;
  userId?: string | null;
  priority?: number;
  dependencies?: Array<string | { id: string; required?: boolean }>;
  inputs?: JsonObject;
  params?: JsonObject;
  schemas?: TaskSchemas;
  retry?: RetryPolicy | null;
  runAt?: string | null;
  metadata?: JsonObject;
  originalTaskId?: string | null;
  /** Node tags it needs (`requires`) and would rather have (`prefers`). */
  placement?: TaskPlacement | null;
  /** Only honoured by copy (mode `full`): a task copied as already finished. */
  status?: TaskStatus;
  result?: JsonValue | null;
  error?: TaskError | null;
  progress?: number;
  attempt?: number;
  startedAt?: string | null;
  completedAt?: string | null;
}

/** A fully resolved task ready to be written by `TaskStore.createTasks`. */
export type NewTask = Omit<Task, "hasChildren" | "updatedAt" | "wait" | "placement" | "placedOn"> & {
  wait?: TaskWait | null;
  placement?: TaskPlacement | null;
  placedOn?: string | null;
};

export const EVENT_TYPES = [
  "task.created",
  "task.started",
  "task.progress",
  "task.completed",
  "task.failed",
  "task.cancelled",
  "task.retrying",
  "task.waiting",
  "task.resumed",
  "tree.started",
  "tree.finished",
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

/** A persisted state change. `seq` grows monotonically across the whole store. */
export interface TaskEvent {
  seq: number;
  type: EventType;
  taskId: string;
  rootId: string;
  executionId: string | null;
  status: TaskStatus;
  progress?: number;
  message?: string;
  result?: JsonValue | null;
  error?: TaskError | null;
  /** Type-specific payload: `task.waiting` {prompt, schema?, deadline?, event?, key?, answers, required}; `task.resumed` {by, input, timedOut?}. */
  data?: JsonObject;
  /** `task.retrying`: when the next attempt may start (ISO time; the backoff's end, or `at`). */
  retryAt?: string;
  at: string;
}

export type NewEvent = Omit<TaskEvent, "seq">;

/** What an executor sees of one of its dependencies (docs/semantics.md#dependency-results). */
export interface DependencyResult {
  id: string;
  name: string;
  status: TaskStatus;
  required: boolean;
  result: JsonValue | null;
}

export type ExecutionStatus = "running" | "completed" | "failed" | "cancelled";

/** One request to run (part of) a tree. Finishes exactly once. */
export interface Execution {
  id: string;
  rootId: string;
  /** The task the execution was requested for (the root, or a task inside the tree). */
  taskId: string;
  status: ExecutionStatus;
  cancelRequested: boolean;
  /** Tasks queued by this execution that are not yet terminal. */
  remaining: number;
  total: number;
  demo: boolean;
  userId: string | null;
  createdAt: string;
  finishedAt: string | null;
}

/** A tree's summary once an execution finished. */
export interface TreeOutcome {
  executionId: string;
  rootId: string;
  status: Exclude<ExecutionStatus, "running">;
  tasks: Task[];
}
