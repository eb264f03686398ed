import { InvalidTransitionError } from "../errors.js";
import type { Task, TaskStatus, TerminalStatus } from "../types.js";

/** docs/semantics.md#states: the only status changes there are. Every store write goes through `transition`. */
const TRANSITIONS: Readonly<Record<TaskStatus, readonly TaskStatus[]>> = {
  pending: ["in_progress", "cancelled", "failed"],
  in_progress: ["completed", "failed", "cancelled", "pending", "waiting"],
  // A waiting task holds no lease: it is answered (pending, claimed again), cancelled, or failed
  // by its timeout or a cascade.
  waiting: ["pending", "cancelled", "failed"],
  failed: ["pending"],
  cancelled: ["pending"],
  completed: ["pending"],
};

const TERMINAL: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"]);

export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return TERMINAL.has(status);
}

export function canTransition(from: TaskStatus, to: TaskStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** The statuses a task may be in to move to `to` (SQL stores put these in their WHERE clause). */
export function sourcesOf(to: TaskStatus): TaskStatus[] {
  return (Object.keys(TRANSITIONS) as TaskStatus[]).filter((from) => TRANSITIONS[from].includes(to));
}

export function assertTransition(taskId: string, from: TaskStatus, to: TaskStatus): void {
  if (!canTransition(from, to)) throw new InvalidTransitionError(taskId, from, to);
}

/** The fields a transition writes besides `status`. */
export interface TransitionPatch {
  result?: Task["result"];
  error?: Task["error"];
  progress?: number;
  runAt?: string | null;
  attempt?: number;
}

/**
 * Apply a status change to a task in place, keeping the consistency rules of docs/semantics.md#states:
 * `startedAt` is set iff the task ever started, `completedAt` iff it is terminal, `result` is
 * written by a completion (or kept as a cancelled task's partial result), `progress` is 1 on
 * completion. Throws `InvalidTransitionError` for a change the status machine forbids.
 */
export function transition(task: Task, to: TaskStatus, now: string, patch: TransitionPatch = {}): Task {
  assertTransition(task.id, task.status, to);
  task.status = to;
  task.updatedAt = now;
  switch (to) {
    case "in_progress":
      task.startedAt = now;
      task.completedAt = null;
      task.error = null;
      task.attempt = patch.attempt ?? task.attempt + 1;
      break;
    case "completed":
      task.result = patch.result === undefined ? null : patch.result;
      task.error = null;
      task.progress = 1;
      task.completedAt = now;
      break;
    case "failed":
      task.error = patch.error ?? { code: "EXECUTOR_ERROR", message: "failed" };
      task.completedAt = now;
      break;
    case "cancelled":
      if (patch.result !== undefined) task.result = patch.result;
      task.error = patch.error ?? { code: "CANCELLED", message: "cancelled" };
      task.completedAt = now;
      break;
    case "pending":
      // Re-execution or retry: the task is no longer terminal. Results of a completed task
      // are reset by the caller through `resetForRerun`; a retry keeps startedAt (it did start).
      task.completedAt = null;
      if (patch.runAt !== undefined) task.runAt = patch.runAt;
      break;
  }
  if (patch.progress !== undefined && to !== "completed") task.progress = patch.progress;
  return task;
}

/** Reset a finished task to pending for a fresh run (re-execution, docs/semantics.md#re-execution). */
export function resetForRerun(task: Task, now: string): Task {
  transition(task, "pending", now);
  task.wait = null;
  task.result = null;
  task.error = null;
  task.progress = 0;
  return task;
}
