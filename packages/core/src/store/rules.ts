import { ApflowError, CannotDeleteError, ErrorCode, TaskErrorCode } from "../errors.js";
import { isTerminal, sourcesOf } from "../task/status.js";
import { openWait } from "../task/wait.js";
import {
  type ExecutionStatus,
  type JsonObject,
  type JsonValue,
  type NewEvent,
  type NewTask,
  type RetryPolicy,
  TASK_STATUSES,
  type TaskError,
  type TaskStatus,
  type TaskWait,
  type WaitAnswer,
  type WaitSpec,
} from "../types.js";
import type { TaskOutcome } from "./types.js";
import type { ExecutionPlacement, TaskPlacement } from "../placement/types.js";
import { STALE_AFTER_BEATS } from "../nodes/state.js";

/**
 * The store rulebook: every decision a `TaskStore` makes that is not "which rows". Pure (no I/O,
 * no clock): `MemoryStore` applies the decisions to its objects, the SQL store turns them into the
 * parameters of its fenced statements. A new policy is added here once, and the store contract
 * (`@aipartnerupflow/core/testing`) with its differential check keeps the stores applying it alike.
 */

// ---- status lists, derived from the transition table ------------------------------------------

/** The status of a task an owner is running (under a lease). */
export const RUNNING: TaskStatus = "in_progress";

/** The status of a task that waits for an answer (docs/semantics.md#waiting): no lease, no slot, not terminal. */
export const WAITING: TaskStatus = "waiting";

const notRunning = (list: readonly TaskStatus[]): TaskStatus[] => list.filter((s) => s !== RUNNING);

/**
 * Status sets the stores filter on. SQL stores build their `WHERE status ...` from these lists
 * (`statusIn` in storage-prisma), so a status added to the transition table reaches them.
 */
export const STATUS = {
  /** A task is claimed from these (the ready set: queued, dependencies resolved, due). */
  claimable: sourcesOf(RUNNING),
  /** Queued tasks that wait for their dependencies; a finishing dependency resolves one of theirs. */
  queued: sourcesOf(RUNNING),
  /** A cancel request cancels tasks in these at once (running ones are flagged instead). */
  cancellableAtOnce: notRunning(sourcesOf("cancelled")),
  /** A failed or cancelled required dependency fails tasks in these (`DEPENDENCY_FAILED`). */
  failableByCascade: notRunning(sourcesOf("failed")),
  /** Finished tasks a re-run resets to pending. */
  rerunnable: sourcesOf("pending").filter(isTerminal) as TaskStatus[],
  /** Started tasks that are not finished: running, or waiting for an answer. */
  unfinishedStarted: [RUNNING, WAITING] as TaskStatus[],
  /** Statuses that resolve a required dependency. */
  resolvesRequired: ["completed"] as TaskStatus[],
  /** Statuses that resolve an optional dependency (any end). */
  resolvesOptional: TASK_STATUSES.filter(isTerminal) as TaskStatus[],
} as const;

/** Whether a dependency in `status` no longer holds back its dependent. */
export function resolvesDependency(required: boolean, status: TaskStatus): boolean {
  return (required ? STATUS.resolvesRequired : STATUS.resolvesOptional).includes(status);
}

// ---- errors stored on tasks -------------------------------------------------------------------

/** The error of a task cancelled while it ran (its executor's outcome lost to the cancel). */
export function cancelledError(): TaskError {
  return { code: TaskErrorCode.Cancelled, message: "cancelled" };
}

/** The error of a task cancelled by a request (`cancel`) before it ran. */
export function cancelRequestError(reason?: string): TaskError {
  return { code: TaskErrorCode.Cancelled, message: reason ?? "cancelled by request" };
}

export function leaseExpiredError(leaseOwner: string | null): TaskError {
  return { code: TaskErrorCode.LeaseExpired, message: `lease of ${leaseOwner ?? "unknown owner"} expired` };
}

/** The error a required dependency that did not complete gives its pending dependents. */
export function cascadeError(dependency: { id: string; name: string; status: TaskStatus }): TaskError {
  return {
    code: TaskErrorCode.DependencyFailed,
    message: `dependency ${dependency.name} (${dependency.id}) ${dependency.status}`,
    details: { dependencyId: dependency.id, dependencyName: dependency.name, dependencyStatus: dependency.status },
  };
}

// ---- next states ------------------------------------------------------------------------------

/**
 * Where a running task goes next: the one decision of `finishTask` and of `reclaimExpired`.
 * `pending` is a retry (at `runAt`, or as soon as it is claimable when `runAt` is absent: a
 * reclaimed lease or a hand-back); its attempt is closed as failed with `error`.
 */
export type NextState =
  | { status: "completed"; result: JsonValue | null }
  | { status: "failed"; error: TaskError }
  /** `result` absent: the task keeps the result it has. */
  | { status: "cancelled"; error: TaskError; result?: JsonValue | null }
  | { status: "pending"; error: TaskError; runAt?: string; resetProgress: boolean }
  /** The executor asked to wait (`ctx.waitFor`): the lease is released, the wait stored. */
  | { status: "waiting"; wait: TaskWait };

export type NextStatus = NextState["status"];

/**
 * The outcome an executor reported, as the task's next state. A cancellation requested while
 * the task ran wins over a failure and over a retry: the task ends cancelled.
 */
export function decideFinish(outcome: TaskOutcome, cancelRequested: boolean, now?: Date): NextState {
  if (outcome.status === "completed") return { status: "completed", result: outcome.result };
  if (outcome.status === "waiting") {
    if (cancelRequested) return { status: "cancelled", error: cancelledError() };
    return { status: "waiting", wait: openWait(outcome.wait, requireNow(now, "finishTask")) };
  }
  if (outcome.status === "failed") {
    if (cancelRequested) return { status: "cancelled", error: cancelledError() };
    if (outcome.retryAt) {
      return { status: "pending", error: outcome.error, runAt: outcome.retryAt.toISOString(), resetProgress: true };
    }
    return { status: "failed", error: outcome.error };
  }
  const next: NextState = { status: "cancelled", error: outcome.error ?? cancelledError() };
  if (outcome.result !== undefined) next.result = outcome.result;
  return next;
}

/**
 * When a queued task becomes due (ms since the epoch; 0 when it has no `runAt` anywhere): its own
 * `runAt` (a retry's backoff included), and not before its root's `runAt`, which holds back the
 * whole tree (docs/semantics.md#run-at).
 */
export function dueAtMs(runAt: string | null, rootRunAt: string | null): number {
  const own = runAt === null ? 0 : Date.parse(runAt);
  const root = rootRunAt === null ? 0 : Date.parse(rootRunAt);
  return Math.max(own, root);
}

/** Whether `decideFinish` depends on the cancel flag for this outcome (SQL fences on the flag then). */
export function cancelFlagDecides(outcome: TaskOutcome): boolean {
  return outcome.status === "failed" || outcome.status === "waiting";
}

/** What a task in progress whose lease expired carries into the decision. */
export interface ExpiredLease {
  attempt: number;
  /** The task's own retry policy. */
  retry: RetryPolicy | null;
  /** The executor the task names (`executorIdOf`), whose default policy applies without its own. */
  executorId: string | null;
  cancelRequested: boolean;
  leaseOwner: string | null;
}

/** What the reclaim applies to a task (ReclaimOptions of `TaskStore.reclaimExpired`). */
export interface ReclaimPolicy {
  /** Attempts allowed to a task without a retry policy (its own or its executor's). */
  maxAttempts?: number;
  /** Executors' default retry policies, by executor id (the registry's `retry`). */
  executorRetry?: Readonly<Record<string, RetryPolicy>>;
}

/**
 * The retry policy a task runs under: its own, else its executor's default — the same one the
 * engine applies to a failure (run-task.ts), so a lost lease and a failure count alike.
 */
export function effectiveRetry(
  own: RetryPolicy | null,
  executorId: string | null,
  executorRetry: Readonly<Record<string, RetryPolicy>> | undefined,
): RetryPolicy | null {
  if (own !== null) return own;
  if (executorId === null || executorRetry === undefined) return null;
  return Object.hasOwn(executorRetry, executorId) ? (executorRetry[executorId] ?? null) : null;
}

/**
 * A lost lease: cancelled when its cancellation was requested; failed with `LEASE_EXPIRED` when
 * its retry policy (its own, else its executor's default) has no attempt left or, without any
 * policy, when it reached `maxAttempts`; otherwise back to pending at once (keeping its progress
 * and `runAt`).
 */
export function decideReclaim(lease: ExpiredLease, options: ReclaimPolicy = {}): NextState {
  if (lease.cancelRequested) return { status: "cancelled", error: cancelledError() };
  const error = leaseExpiredError(lease.leaseOwner);
  const policy = effectiveRetry(lease.retry, lease.executorId, options.executorRetry);
  const limit = policy !== null ? policy.maxAttempts : options.maxAttempts;
  if (limit !== undefined && lease.attempt >= limit) return { status: "failed", error };
  return { status: "pending", error, resetProgress: false };
}

/** The record of the attempt that a next state ends. */
export function closedAttempt(next: NextState): { status: TaskStatus; error: TaskError | null } {
  if (next.status === "completed") return { status: "completed", error: null };
  if (next.status === "waiting") return { status: "waiting", error: null };
  return { status: next.status === "pending" ? "failed" : next.status, error: next.error };
}

/** The outcome with which an engine that stops returns a task it claimed but did not run. */
export function handBackOutcome(now: Date): TaskOutcome {
  return {
    status: "failed",
    error: { code: "SHUTDOWN", message: "the engine stopped before running the task; handed back" },
    retryAt: now,
  };
}

/** An execution whose tasks all ended: cancelled if asked, failed if any did not complete. */
export function executionFinalStatus(cancelRequested: boolean, notCompleted: number): ExecutionStatus {
  return cancelRequested ? "cancelled" : notCompleted > 0 ? "failed" : "completed";
}

/**
 * The executions one write finished, in the order their `tree.finished` events follow the write's
 * task events (by id, which is also the order SQL stores lock their rows in).
 */
export function orderFinished<T extends { id: string }>(executions: readonly T[]): T[] {
  if (executions.length < 2) return executions as T[];
  return [...executions].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/**
 * The execution a cancel request marks as cancelled by request, so that it ends `cancelled`
 * rather than `failed` (a tree cancelled by request is cancelled, whichever of its tasks the
 * request named): for a root, its tree's running execution; for another task, the running
 * execution it is queued in, when the request cancels or flags it (a finished task is left alone).
 */
export function executionMarkedByCancel(
  target: { isRoot: boolean; status: TaskStatus; executionId: string | null },
  runningExecutionId: string | undefined,
): string | undefined {
  if (runningExecutionId === undefined) return undefined;
  if (target.isRoot) return runningExecutionId;
  const affected = target.status === RUNNING || STATUS.cancellableAtOnce.includes(target.status);
  return affected && target.executionId === runningExecutionId ? runningExecutionId : undefined;
}

/** Whether a task ending in `status` counts as a problem of its execution. */
export function countsAsProblem(status: TaskStatus): boolean {
  return status !== "completed";
}

/**
 * The fields a re-run writes on a finished task it queues again (besides `updatedAt`). SQL
 * stores map each key to a column; a key added here fails their build until mapped.
 */
export const RERUN_RESET = {
  status: "pending",
  result: null,
  error: null,
  progress: 0,
  completedAt: null,
} as const satisfies Record<string, JsonValue>;

/**
 * What every task an execution queues starts with: no cancel flag, no checkpoint of a previous
 * run, and the `runAt` the user gave (not a previous run's retry backoff).
 */
export const QUEUE_RESET = { cancelRequested: false, checkpoint: null, runAt: "userRunAt", wait: null } as const;

export function clampProgress(progress: number): number {
  if (!Number.isFinite(progress)) return 0;
  return Math.min(1, Math.max(0, progress));
}

// ---- events -----------------------------------------------------------------------------------

/** The task an event is about. */
export interface EventSubject {
  taskId: string;
  rootId: string;
  executionId: string | null;
}

const NEXT_EVENT = {
  completed: "task.completed",
  failed: "task.failed",
  cancelled: "task.cancelled",
  pending: "task.retrying",
  waiting: "task.waiting",
} as const satisfies Record<NextStatus, NewEvent["type"]>;

export function createdEvent(task: Pick<NewTask, "id" | "rootId" | "status">, at: string): NewEvent {
  return { type: "task.created", taskId: task.id, rootId: task.rootId, executionId: null, status: task.status, at };
}

export function treeStartedEvent(rootId: string, executionId: string, at: string): NewEvent {
  return { type: "tree.started", taskId: rootId, rootId, executionId, status: RUNNING, at };
}

export function treeFinishedEvent(
  execution: { id: string; rootId: string },
  status: ExecutionStatus,
  at: string,
): NewEvent {
  return {
    type: "tree.finished",
    taskId: execution.rootId,
    rootId: execution.rootId,
    executionId: execution.id,
    status: status as TaskStatus,
    at,
  };
}

/** A claim: the task's progress so far (a reclaimed task keeps it) rides along. */
export function startedEvent(subject: EventSubject, progress: number, at: string): NewEvent {
  const { taskId, rootId, executionId } = subject;
  return { type: "task.started", taskId, rootId, executionId, status: RUNNING, progress, at };
}

export function progressEvent(
  subject: EventSubject,
  progress: number,
  message: string | undefined,
  at: string,
): NewEvent {
  const { taskId, rootId, executionId } = subject;
  const event: NewEvent = { type: "task.progress", taskId, rootId, executionId, status: RUNNING, progress, at };
  if (message !== undefined) event.message = message;
  return event;
}

/**
 * The event of a finished task (`finishTask`): completed carries the result, failed the error,
 * retrying the error and `retryAt`, cancelled both (`result`: the task's result as written, a
 * partial one or null).
 */
export function finishEvent(next: NextState, subject: EventSubject, result: JsonValue | null, at: string): NewEvent {
  const { taskId, rootId, executionId } = subject;
  const event: NewEvent = { type: NEXT_EVENT[next.status], taskId, rootId, executionId, status: next.status, at };
  if (next.status === "completed") event.result = result;
  else if (next.status === "waiting") event.data = waitingData(next.wait);
  else {
    event.error = next.error;
    if (next.status === "cancelled") event.result = result;
    if (next.status === "pending") event.retryAt = retryAtOf(next, at);
  }
  return event;
}

/** The event of a reclaimed lease: the error only (its executor reported nothing); retrying: `retryAt`. */
export function reclaimEvent(next: NextState, subject: EventSubject, at: string): NewEvent {
  const { taskId, rootId, executionId } = subject;
  const event: NewEvent = { type: NEXT_EVENT[next.status], taskId, rootId, executionId, status: next.status, at };
  if (next.status !== "completed" && next.status !== "waiting") event.error = next.error;
  if (next.status === "pending") event.retryAt = retryAtOf(next, at);
  return event;
}

/**
 * When a retried task may run again: its backoff's end, or at once (`at`) for a reclaimed lease
 * or a hand-back. (A `runAt` the task keeps, or its root's, may hold it back longer.)
 */
function retryAtOf(next: Extract<NextState, { status: "pending" }>, at: string): string {
  return next.runAt ?? at;
}

/** A pending task cancelled by a request. */
export function cancelledEvent(subject: EventSubject, error: TaskError, at: string): NewEvent {
  const { taskId, rootId, executionId } = subject;
  return { type: "task.cancelled", taskId, rootId, executionId, status: "cancelled", error, at };
}

/** A pending dependent failed by the cascade. */
export function cascadeEvent(subject: EventSubject, error: TaskError, at: string): NewEvent {
  const { taskId, rootId, executionId } = subject;
  return { type: "task.failed", taskId, rootId, executionId, status: "failed", error, at };
}

// ---- waits (docs/semantics.md#waiting) ---------------------------------------------------------

/** The payload of `task.waiting`: what is asked, until when, and how many answers it has of how many. */
export function waitingData(wait: TaskWait): JsonObject {
  const data: JsonObject = { prompt: wait.prompt, answers: wait.answers.length, required: wait.required ?? 1 };
  if (wait.schema !== undefined) data.schema = wait.schema;
  if (wait.deadline !== undefined) data.deadline = wait.deadline;
  if (wait.event !== undefined) data.event = wait.event;
  if (wait.key !== undefined) data.key = wait.key;
  if (wait.approvers !== undefined) data.approvers = wait.approvers;
  return data;
}

export function waitingEvent(subject: EventSubject, wait: TaskWait, at: string): NewEvent {
  const { taskId, rootId, executionId } = subject;
  return { type: "task.waiting", taskId, rootId, executionId, status: WAITING, data: waitingData(wait), at };
}

/** `task.resumed`: who answered and with what (`by` null for a signal without a user or a timeout). */
export function resumedEvent(subject: EventSubject, answer: WaitAnswer | null, at: string): NewEvent {
  const { taskId, rootId, executionId } = subject;
  const data: JsonObject = answer ? { by: answer.by, input: answer.input } : { by: null, input: null, timedOut: true };
  return { type: "task.resumed", taskId, rootId, executionId, status: "pending", data, at };
}

/** Whether an answer ends a multi-answer wait at once: a rejection needs no quorum. */
export function isRejection(input: JsonValue): boolean {
  return input !== null && typeof input === "object" && !Array.isArray(input) && input.approved === false;
}

/**
 * An answer to a waiting task: the wait with the answer recorded, and whether the task runs again
 * (the answers reached `required`, or this one is a rejection). A second answer of the same user
 * is refused (-32006), so N-of-M counts people, not requests.
 */
export function decideAnswer(taskId: string, wait: TaskWait, answer: WaitAnswer): { wait: TaskWait; resumes: boolean } {
  if (answer.by !== null && wait.answers.some((a) => a.by === answer.by)) {
    throw new ApflowError(ErrorCode.InvalidTransition, `task ${taskId}: ${answer.by} has answered already`, {
      taskId,
      by: answer.by,
    });
  }
  const answers = [...wait.answers, answer];
  const resumes = answers.length >= (wait.required ?? 1) || isRejection(answer.input);
  const next: TaskWait = { ...wait, answers };
  if (resumes) next.resumedAt = answer.at;
  return { wait: next, resumes };
}

/** What a wait whose deadline passed becomes: failed (`WAIT_TIMEOUT`), or pending again, timed out. */
export function decideExpiry(
  wait: TaskWait,
  at: string,
): { status: "failed"; error: TaskError; wait: TaskWait } | { status: "pending"; wait: TaskWait } {
  if ((wait.onTimeout ?? "fail") === "fail") {
    return {
      status: "failed",
      error: { code: TaskErrorCode.WaitTimeout, message: `no answer by ${wait.deadline}: ${wait.prompt}` },
      wait,
    };
  }
  return { status: "pending", wait: { ...wait, resumedAt: at, timedOut: true } };
}

/** A wait whose deadline failed its task (`WAIT_TIMEOUT`). */
export function waitExpiredEvent(subject: EventSubject, error: TaskError, at: string): NewEvent {
  const { taskId, rootId, executionId } = subject;
  return { type: "task.failed", taskId, rootId, executionId, status: "failed", error, at };
}

/** An open wait from a spec (stores call it through `decideFinish`). */
export function waitFromSpec(spec: WaitSpec, now: Date): TaskWait {
  return openWait(spec, now);
}

// ---- refusals ---------------------------------------------------------------------------------

export function duplicateIdsError(ids: readonly string[]): ApflowError {
  return new ApflowError(ErrorCode.InvalidTask, `task id already exists: ${ids.join(", ")}`, {
    errors: ids.map((id) => ({ path: "id", code: "duplicate_id", message: `task id already exists: ${id}` })),
  });
}

export function unknownReferencesError(ids: readonly string[]): ApflowError {
  return new ApflowError(ErrorCode.InvalidDependency, `unknown task referenced: ${ids.join(", ")}`, { ids: [...ids] });
}

export function runningUpdateError(taskId: string): ApflowError {
  return new ApflowError(ErrorCode.InvalidTransition, `task ${taskId} is running and cannot be updated`, { taskId });
}

export function executionIdTakenError(executionId: string): ApflowError {
  return new ApflowError(ErrorCode.InvalidParams, `execution id already exists: ${executionId}`);
}

export function stillRunningError(taskId: string): ApflowError {
  return new ApflowError(ErrorCode.AlreadyExecuting, `task ${taskId} is still running`);
}

/**
 * The `now` of an operation that depends on time: a valid Date, else a clear refusal. Stores never
 * read the clock themselves.
 */
export function requireNow(now: unknown, operation: string): Date {
  if (now instanceof Date && !Number.isNaN(now.getTime())) return now;
  throw new ApflowError(
    ErrorCode.InvalidParams,
    `${operation} needs \`now\` (a valid Date from the caller's clock); stores never read the clock themselves`,
    { operation },
  );
}

export function storeClosedError(): ApflowError {
  return new ApflowError(ErrorCode.Internal, "store is closed");
}

/** A task of a set about to be deleted, as the delete rule sees it. */
export interface DeletedTask {
  id: string;
  status: TaskStatus;
  executionId: string | null;
}

/**
 * Refuse a delete (`CannotDeleteError`) when a task of `doomed` runs, waits in an execution that
 * runs, or is depended upon by a task outside the set. `doomed` is in tree order.
 */
export function checkDeletable(
  doomed: readonly DeletedTask[],
  dependentsOf: (taskId: string) => readonly string[],
  executionRunning: (executionId: string) => boolean,
): void {
  const ids = new Set(doomed.map((t) => t.id));
  for (const task of doomed) {
    if (task.status === RUNNING) throw new CannotDeleteError(task.id, "it is running");
    if (task.status === WAITING) throw new CannotDeleteError(task.id, "it is waiting (cancel it first)");
    if (STATUS.queued.includes(task.status) && task.executionId !== null && executionRunning(task.executionId)) {
      throw new CannotDeleteError(task.id, "its tree is executing");
    }
    for (const dependent of dependentsOf(task.id)) {
      if (!ids.has(dependent)) throw new CannotDeleteError(task.id, `task ${dependent} depends on it`);
    }
  }
}

// ---- placement (docs/semantics.md#placement) ------------------------------------------------

/**
 * The claim's placement rule, applied alike by every store (each in its own terms: MemoryStore in
 * `claimReady`, the SQL stores in the claim statement's `WHERE`). A node (`ClaimOptions.owner`,
 * `ClaimOptions.tags`) claims a ready task only if
 * 1. **capability**: every tag of the task's `placement.requires` is among the node's tags (a node
 *    that gives no tags claims only tasks that require none), and
 * 2. **preference**: the task's `placedOn` is null, or names the claiming node, or names a node
 *    that does not *hold* it. A node holds the tasks placed on it while it is registered in the
 *    store's node registry (`store.nodes`), its last heartbeat is at most `HOLD_BEATS` ×
 *    `heartbeatMs` before `now`, it is not draining, and it reported `running < concurrency` at
 *    that beat. A preference never strands work: once its node stops holding, any capable node
 *    takes the task.
 */
export const HOLD_BEATS = STALE_AFTER_BEATS;

/** What the placement rule reads of a registered node. */
export interface PlacementHolder {
  heartbeatAt: Date;
  heartbeatMs: number;
  draining: boolean;
  running: number;
  concurrency: number;
}

/** Whether `node` holds the tasks placed on it at `nowMs` (rule 2 above). */
export function holdsPlaced(node: PlacementHolder, nowMs: number): boolean {
  return (
    nowMs - node.heartbeatAt.getTime() <= HOLD_BEATS * node.heartbeatMs &&
    !node.draining &&
    node.running < node.concurrency
  );
}

/** The tags of `placement.requires` that `tags` lacks (empty: the node is capable; rule 1 above). */
export function missingTags(placement: TaskPlacement | null, tags: readonly string[] | undefined): string[] {
  const requires = placement?.requires;
  if (requires === undefined || requires.length === 0) return [];
  if (tags === undefined || tags.length === 0) return [...requires];
  return requires.filter((t) => !tags.includes(t));
}

/** Whether a node may claim a task placed on `placedOn` (rule 2 above); `holds` asks the registry. */
export function mayClaimPlaced(placedOn: string | null, owner: string, holds: (nodeId: string) => boolean): boolean {
  return placedOn === null || placedOn === owner || !holds(placedOn);
}

/** An execution's placement as its run set receives it (`placementPlan`). */
export interface PlacementPlan {
  /** Task id → node id, for tasks of the run set only; every other task of the run set gets null. */
  assign: Map<string, string>;
  /** `followDependencies`: the run set's tasks not named by `assign` get `placeFollows`. */
  follows: boolean;
}

/**
 * Check an execution's placement against its tree and plan what its run set is written with:
 * `placedOn` from `assign` (null for the run set's other tasks: a re-run clears the preferences of
 * an earlier execution) and `placeFollows` for the tasks `assign` does not name. An assigned task
 * outside the tree, or a node id that is not 1..200 characters, is refused (`InvalidTask`, naming
 * it) before anything is written.
 */
export function placementPlan(
  placement: ExecutionPlacement | undefined,
  inTree: (taskId: string) => boolean,
): PlacementPlan {
  const assign = new Map<string, string>();
  if (placement === undefined || placement === null) return { assign, follows: false };
  if (typeof placement !== "object" || Array.isArray(placement)) throw placementError("placement", "must be an object");
  const given = placement.assign;
  if (given !== undefined && given !== null) {
    if (typeof given !== "object" || Array.isArray(given))
      throw placementError("placement.assign", "must map task ids to node ids");
    const unknown: string[] = [];
    for (const [taskId, nodeId] of Object.entries(given)) {
      if (typeof nodeId !== "string" || nodeId.length === 0 || nodeId.length > 200)
        throw placementError(`placement.assign.${taskId}`, "must be a node id of 1..200 characters");
      if (!inTree(taskId)) unknown.push(taskId);
      else assign.set(taskId, nodeId);
    }
    if (unknown.length > 0) {
      throw new ApflowError(
        ErrorCode.InvalidTask,
        `placement.assign names tasks that are not in the tree: ${unknown.join(", ")}`,
        {
          errors: unknown.map((id) => ({
            path: `placement.assign.${id}`,
            code: "unknown_task",
            message: `task ${id} is not in the tree`,
          })),
        },
      );
    }
  }
  const follows = placement.followDependencies;
  if (follows !== undefined && typeof follows !== "boolean")
    throw placementError("placement.followDependencies", "must be a boolean");
  return { assign, follows: follows === true };
}

function placementError(path: string, message: string): ApflowError {
  return new ApflowError(ErrorCode.InvalidParams, `${path} ${message}`, {
    errors: [{ path, code: "invalid_placement", message: `${path} ${message}` }],
  });
}
