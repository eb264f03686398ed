import {
  type Execution,
  type NewEvent,
  type RetryPolicy,
  type JsonValue,
  type Task,
  type TaskError,
  TaskErrorCode,
} from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { byOrdinal, readBool, readJson, type TaskRow, taskFromRow } from "../store/rows.js";
import { cancelledError } from "./finish-task.js";
import { jsonParam, timeParam } from "./fragments.js";
import { ExecutionLedger } from "./execution-accounting.js";
import { settle, settledFromRow } from "./settle.js";

/**
 * Return tasks whose lease expired (their owner died or stalled) to pending — or finish them when
 * their cancellation was requested or their retry policy has no attempt left. The lost attempt
 * is closed as failed with `LEASE_EXPIRED`. Each row is rewritten fenced by the token it had, so
 * a late finish of the old owner and the reclaim never both win.
 */
export async function reclaimExpired(
  tx: SqlSession,
  now: Date,
  maxAttempts?: number,
): Promise<{ tasks: Task[]; events: NewEvent[]; finished: Execution[] }> {
  const d = tx.dialect;
  const expired = byOrdinal(
    await tx.all<TaskRow>(
      `SELECT * FROM tasks WHERE status = 'in_progress' AND lease_expires_at <= ${timeParam(d)}${d === "postgres" ? " FOR UPDATE SKIP LOCKED" : ""}`,
      [now],
    ),
  );
  const at = now.toISOString();
  const events: NewEvent[] = [];
  const finished: Execution[] = [];
  const tasks: Task[] = [];
  const ledger = new ExecutionLedger();
  for (const row of expired) {
    const leaseError: TaskError = {
      code: TaskErrorCode.LeaseExpired,
      message: `lease of ${row.lease_owner ?? "unknown owner"} expired`,
    };
    await tx.run(
      `UPDATE attempts SET ended_at = ${timeParam(d)}, status = 'failed', error = ${jsonParam(d)} WHERE task_id = ? AND attempt = ?`,
      [now, JSON.stringify(leaseError), row.id, Number(row.attempt)],
    );
    const retry = readJson<JsonValue>(d, row.retry) as RetryPolicy | null;
    const limit = retry !== null ? retry.maxAttempts : maxAttempts;
    const exhausted = limit !== undefined && Number(row.attempt) >= limit;
    const cancelRequested = readBool(row.cancel_requested);
    const to = cancelRequested ? "cancelled" : exhausted ? "failed" : "pending";
    const error = to === "cancelled" ? cancelledError() : leaseError;
    const terminal = to !== "pending";
    const [updated] = await tx.all<TaskRow>(
      `UPDATE tasks SET status = ?, error = ${jsonParam(d)}, completed_at = ${terminal ? timeParam(d) : "NULL"},
              updated_at = ${timeParam(d)}, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL
        WHERE id = ? AND status = 'in_progress' AND lease_token = ? RETURNING *`,
      [to, JSON.stringify(error), ...(terminal ? [now] : []), now, row.id, row.lease_token],
    );
    if (!updated) continue;
    const task = taskFromRow(d, updated);
    tasks.push(task);
    const base = {
      taskId: task.id,
      rootId: task.rootId,
      executionId: updated.execution_id,
      status: task.status,
      at,
      error,
    };
    if (!terminal) {
      events.push({ ...base, type: "task.retrying" });
      continue;
    }
    events.push({ ...base, type: to === "cancelled" ? "task.cancelled" : "task.failed" });
    await settle(tx, [settledFromRow(updated)], at, events, ledger);
  }
  await ledger.apply(tx, at, events, finished);
  return { tasks, events, finished };
}
