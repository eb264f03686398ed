import { assertTransition, type NewEvent, storeRules, type Task, type TaskOutcome } from "@aipartnerupflow/core";
import type { Dialect, SqlSession, SqlValue } from "../db/types.js";
import { type TaskRow, taskFromRow } from "../store/rows.js";
import { jsonParam, sqlStatus, statusIn, timeParam } from "./fragments.js";
import { leaseRefusal } from "./leased-task.js";
import type { ExecutionLedger } from "./execution-accounting.js";
import { settle, settledFromRow } from "./settle.js";

const { RUNNING, closedAttempt, decideFinish, cancelFlagDecides, finishEvent } = storeRules;

export const RELEASE_LEASE = "lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL";

/** The fenced UPDATE's `SET` clause and parameters that write a next state (core's decision). */
export function nextStateUpdate(
  d: Dialect,
  next: storeRules.NextState,
  now: Date,
): { set: string; params: SqlValue[] } {
  const time = timeParam(d);
  const json = jsonParam(d);
  const status = `status = ${sqlStatus(next.status)}`;
  switch (next.status) {
    case "completed":
      return {
        set: `${status}, result = ${json}, error = NULL, progress = 1, completed_at = ${time}, updated_at = ${time}`,
        params: [next.result === null ? null : JSON.stringify(next.result), now, now],
      };
    case "pending": {
      const runAt = next.runAt === undefined ? "" : `run_at = ${time}, `;
      const progress = next.resetProgress ? "progress = 0, " : "";
      return {
        set: `${status}, ${runAt}${progress}error = ${json}, completed_at = NULL, updated_at = ${time}`,
        params: [...(next.runAt === undefined ? [] : [new Date(next.runAt)]), JSON.stringify(next.error), now],
      };
    }
    case "failed":
      return {
        set: `${status}, error = ${json}, completed_at = ${time}, updated_at = ${time}`,
        params: [JSON.stringify(next.error), now, now],
      };
    case "waiting":
      return {
        set: `${status}, wait = ${json}, wait_event = ?, wait_key = ?, wait_deadline = ${time}, updated_at = ${time}`,
        params: [
          JSON.stringify(next.wait),
          next.wait.event ?? null,
          next.wait.key ?? null,
          next.wait.deadline === undefined ? null : new Date(next.wait.deadline),
          now,
        ],
      };
    case "cancelled": {
      const keepResult = next.result === undefined;
      return {
        set: `${status}, ${keepResult ? "" : `result = ${json}, `}error = ${json}, completed_at = ${time}, updated_at = ${time}`,
        params: [
          ...(keepResult ? [] : [next.result === null ? null : JSON.stringify(next.result)]),
          JSON.stringify(next.error),
          now,
          now,
        ],
      };
    }
  }
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
  // The decision may depend on the task's cancel flag (a cancel requested while it ran wins over
  // a failure or a retry). Then the UPDATE of the decision without the flag is fenced by
  // `cancel_requested = false`; when it matches nothing, the decision with the flag is written
  // instead (rare path: one more statement).
  const flagged = cancelFlagDecides(outcome);
  let next = decideFinish(outcome, false, now);
  assertTransition(taskId, RUNNING, next.status);
  let update = nextStateUpdate(d, next, now);
  const fenced = `id = ? AND ${statusIn("status", [RUNNING])} AND lease_token = ?`;
  let rows = await tx.all<TaskRow>(
    `UPDATE tasks SET ${update.set}, ${RELEASE_LEASE}
      WHERE ${fenced}${flagged ? " AND cancel_requested = false" : ""} RETURNING *`,
    [...update.params, taskId, leaseToken],
  );
  if (rows.length === 0 && flagged) {
    next = decideFinish(outcome, true, now);
    assertTransition(taskId, RUNNING, next.status);
    update = nextStateUpdate(d, next, now);
    rows = await tx.all<TaskRow>(
      `UPDATE tasks SET ${update.set}, ${RELEASE_LEASE} WHERE ${fenced} AND cancel_requested = true RETURNING *`,
      [...update.params, taskId, leaseToken],
    );
  }
  const row = rows[0];
  if (!row) throw await leaseRefusal(tx, taskId);
  const task = taskFromRow(d, row);
  const at = now.toISOString();
  const attempt = closedAttempt(next);
  const [closed] = await tx.all<{ owner: string | null }>(
    `UPDATE attempts SET ended_at = ${timeParam(d)}, status = ?, error = ${jsonParam(d)} WHERE task_id = ? AND attempt = ?
      RETURNING owner`,
    [now, attempt.status, attempt.error === null ? null : JSON.stringify(attempt.error), taskId, task.attempt],
  );

  const subject = { taskId, rootId: task.rootId, executionId: row.execution_id };
  const kept = next.status === "pending" || next.status === "waiting";
  const events: NewEvent[] = [finishEvent(next, subject, kept ? null : task.result, at)];
  // Not terminal: nothing to settle or count (a waiting task keeps its tree unfinished).
  if (kept) return { task, events };
  // The attempt's owner: dependents with dependency affinity are placed on it (settle.ts).
  await settle(tx, [{ ...settledFromRow(row), owner: closed?.owner ?? null }], at, events, ledger);
  return { task, events };
}
