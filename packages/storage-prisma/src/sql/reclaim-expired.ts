import {
  type Execution,
  executorIdOf,
  type JsonObject,
  type JsonValue,
  type NewEvent,
  type ReclaimOptions,
  type RetryPolicy,
  storeRules,
  type Task,
  type TaskSchemas,
} from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { byOrdinal, readBool, readJson, type TaskRow, taskFromRow } from "../store/rows.js";
import { ExecutionLedger } from "./execution-accounting.js";
import { RELEASE_LEASE, nextStateUpdate } from "./finish-task.js";
import { jsonParam, statusIn, timeParam } from "./fragments.js";
import { settle, settledFromRow } from "./settle.js";

const { RUNNING, closedAttempt, decideReclaim, reclaimEvent } = storeRules;

/**
 * Return tasks whose lease expired (their owner died or stalled) to pending — or finish them when
 * their cancellation was requested or they have no attempt left under their own retry policy or
 * their executor's default (`options.executorRetry`; core's `decideReclaim`). The lost
 * attempt is closed as the decision says. Each row is rewritten fenced by the token it had, so a
 * late finish of the old owner and the reclaim never both win.
 */
export async function reclaimExpired(
  tx: SqlSession,
  now: Date,
  options: ReclaimOptions = {},
): Promise<{ tasks: Task[]; events: NewEvent[]; finished: Execution[] }> {
  const d = tx.dialect;
  const expired = byOrdinal(
    await tx.all<TaskRow>(
      `SELECT * FROM tasks WHERE ${statusIn("status", [RUNNING])} AND lease_expires_at <= ${timeParam(d)}${d === "postgres" ? " FOR UPDATE SKIP LOCKED" : ""}`,
      [now],
    ),
  );
  const at = now.toISOString();
  const events: NewEvent[] = [];
  const finished: Execution[] = [];
  const tasks: Task[] = [];
  const ledger = new ExecutionLedger();
  for (const row of expired) {
    const next = decideReclaim(
      {
        attempt: Number(row.attempt),
        retry: readJson<JsonValue>(d, row.retry) as RetryPolicy | null,
        executorId: executorIdOf({
          params: readJson<JsonObject>(d, row.params) ?? {},
          schemas: (readJson<JsonObject>(d, row.schemas) ?? {}) as TaskSchemas,
        }).id,
        cancelRequested: readBool(row.cancel_requested),
        leaseOwner: row.lease_owner,
      },
      options,
    );
    const update = nextStateUpdate(d, next, now);
    const [updated] = await tx.all<TaskRow>(
      `UPDATE tasks SET ${update.set}, ${RELEASE_LEASE}
        WHERE id = ? AND ${statusIn("status", [RUNNING])} AND lease_token = ? RETURNING *`,
      [...update.params, row.id, row.lease_token],
    );
    if (!updated) continue;
    const attempt = closedAttempt(next);
    await tx.run(
      `UPDATE attempts SET ended_at = ${timeParam(d)}, status = ?, error = ${jsonParam(d)} WHERE task_id = ? AND attempt = ?`,
      [now, attempt.status, JSON.stringify(attempt.error), row.id, Number(row.attempt)],
    );
    const task = taskFromRow(d, updated);
    tasks.push(task);
    events.push(reclaimEvent(next, { taskId: task.id, rootId: task.rootId, executionId: updated.execution_id }, at));
    if (next.status !== "pending") await settle(tx, [settledFromRow(updated)], at, events, ledger);
  }
  await ledger.apply(tx, at, events, finished);
  return { tasks, events, finished };
}
