import {
  assertTransition,
  type NewEvent,
  type Task,
  type TaskError,
  TaskErrorCode,
  type TaskOutcome,
  type TaskStatus,
} from "@aipartnerupflow/core";
import type { Dialect, SqlSession, SqlValue } from "../db/types.js";
import { type TaskRow, taskFromRow } from "../store/rows.js";
import { jsonParam, timeParam } from "./fragments.js";
import { leaseRefusal } from "./leased-task.js";
import type { ExecutionLedger } from "./execution-accounting.js";
import { settle, settledFromRow } from "./settle.js";

const RELEASE_LEASE = "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL";

export function cancelledError(): TaskError {
  return { code: TaskErrorCode.Cancelled, message: "cancelled" };
}

/** The UPDATE that writes an outcome, fenced by the lease token: `SET` clause and its parameters. */
function outcomeUpdate(
  d: Dialect,
  outcome: TaskOutcome,
  now: Date,
): { set: string; params: SqlValue[]; to: TaskStatus } {
  const time = timeParam(d);
  const json = jsonParam(d);
  if (outcome.status === "completed") {
    return {
      to: "completed",
      set: `status = 'completed', result = ${json}, error = NULL, progress = 1, completed_at = ${time}, updated_at = ${time}`,
      params: [outcome.result === null ? null : JSON.stringify(outcome.result), now, now],
    };
  }
  if (outcome.status === "failed" && outcome.retryAt) {
    return {
      to: "pending",
      set: `status = 'pending', run_at = ${time}, progress = 0, error = ${json}, completed_at = NULL, updated_at = ${time}`,
      params: [outcome.retryAt, JSON.stringify(outcome.error), now],
    };
  }
  if (outcome.status === "failed") {
    return {
      to: "failed",
      set: `status = 'failed', error = ${json}, completed_at = ${time}, updated_at = ${time}`,
      params: [JSON.stringify(outcome.error), now, now],
    };
  }
  const keepResult = outcome.result === undefined;
  return {
    to: "cancelled",
    set: `status = 'cancelled', ${keepResult ? "" : `result = ${json}, `}error = ${json}, completed_at = ${time}, updated_at = ${time}`,
    params: [
      ...(keepResult ? [] : [outcome.result === null ? null : JSON.stringify(outcome.result)]),
      JSON.stringify(outcome.error ?? cancelledError()),
      now,
      now,
    ],
  };
}

/**
 * Finish a claimed task in the caller's transaction: one fenced UPDATE (stale token → no row →
 * LeaseLostError, nothing written), the attempt closed, the outcome's event, and — unless the
 * task goes back to pending for a retry — its dependents settled and its execution counted in
 * `ledger` (the caller applies the ledger before committing).
 */
export async function finishTask(
  tx: SqlSession,
  taskId: string,
  leaseToken: string,
  outcome: TaskOutcome,
  now: Date,
  ledger: ExecutionLedger,
): Promise<{ task: Task; events: NewEvent[] }> {
  const d = tx.dialect;
  let update = outcomeUpdate(d, outcome, now);
  assertTransition(taskId, "in_progress", update.to);
  // A cancel requested while the task ran wins over a failure or a retry: the task ends
  // cancelled. The failed/retry UPDATE is fenced by `cancel_requested = false`; when it matches
  // nothing the task is written cancelled instead (rare path: one more statement).
  const cancelWins = outcome.status === "failed";
  let rows = await tx.all<TaskRow>(
    `UPDATE tasks SET ${update.set}, ${RELEASE_LEASE}
      WHERE id = ? AND status = 'in_progress' AND lease_token = ?${cancelWins ? " AND cancel_requested = false" : ""} RETURNING *`,
    [...update.params, taskId, leaseToken],
  );
  if (rows.length === 0 && cancelWins) {
    update = outcomeUpdate(d, { status: "cancelled", error: cancelledError() }, now);
    assertTransition(taskId, "in_progress", update.to);
    rows = await tx.all<TaskRow>(
      `UPDATE tasks SET ${update.set}, ${RELEASE_LEASE}
        WHERE id = ? AND status = 'in_progress' AND lease_token = ? AND cancel_requested = true RETURNING *`,
      [...update.params, taskId, leaseToken],
    );
  }
  const row = rows[0];
  if (!row) throw await leaseRefusal(tx, taskId);
  const task = taskFromRow(d, row);
  const at = now.toISOString();
  await tx.run(
    `UPDATE attempts SET ended_at = ${timeParam(d)}, status = ?, error = ${jsonParam(d)} WHERE task_id = ? AND attempt = ?`,
    [
      now,
      update.to === "pending" ? "failed" : update.to,
      task.error === null ? null : JSON.stringify(task.error),
      taskId,
      task.attempt,
    ],
  );

  const events: NewEvent[] = [];
  const base = { taskId, rootId: task.rootId, executionId: row.execution_id, status: task.status, at };
  if (update.to === "pending") {
    events.push({ ...base, type: "task.retrying", error: task.error });
    return { task, events };
  }
  if (task.status === "completed") events.push({ ...base, type: "task.completed", result: task.result });
  else if (task.status === "failed") events.push({ ...base, type: "task.failed", error: task.error });
  else events.push({ ...base, type: "task.cancelled", error: task.error, result: task.result });
  await settle(tx, [settledFromRow(row)], at, events, ledger);
  return { task, events };
}
