import { type CancelOptions, type CancelResult, type NewEvent, NotFoundError, storeRules } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { byOrdinal, type TaskRow } from "../store/rows.js";
import { jsonParam, sqlStatus, statusIn, timeParam, unindexed } from "./fragments.js";
import { ExecutionLedger } from "./execution-accounting.js";
import { settle, settledFromRow } from "./settle.js";

const { RUNNING, STATUS, cancelRequestError, cancelledEvent } = storeRules;

/**
 * Cancel a task, or a whole tree when given its root. Pending tasks become cancelled now;
 * running ones are flagged (`cancel_requested`) and reported with their lease owner, who aborts
 * them. Cancelling one task cascades `DEPENDENCY_FAILED` to its required dependents; cancelling a
 * root cancels everything, so there is nothing to cascade to. Terminal tasks are left alone.
 */
export async function cancelTasks(
  tx: SqlSession,
  taskId: string,
  options: CancelOptions,
  now: Date,
): Promise<Omit<CancelResult, "events"> & { events: NewEvent[] }> {
  const d = tx.dialect;
  const [target] = await tx.all<{ root_id: string; parent_id: string | null }>(
    "SELECT root_id, parent_id FROM tasks WHERE id = ?",
    [taskId],
  );
  if (!target) throw new NotFoundError("task", taskId);
  const isRoot = target.parent_id === null;
  const scope = isRoot ? "root_id = ?" : "id = ?";
  const scopeParam = isRoot ? target.root_id : taskId;
  const at = now.toISOString();
  const error = cancelRequestError(options.reason);
  const result: Omit<CancelResult, "events"> & { events: NewEvent[] } = {
    cancelled: [],
    running: [],
    finished: [],
    events: [],
  };

  if (isRoot) {
    await tx.run("UPDATE executions SET cancel_requested = true WHERE root_id = ? AND status = 'running'", [
      target.root_id,
    ]);
  }
  const cancelled = byOrdinal(
    await tx.all<TaskRow>(
      `UPDATE tasks SET status = ${sqlStatus("cancelled")}, error = ${jsonParam(d)}, completed_at = ${timeParam(d)},
              updated_at = ${timeParam(d)}
        WHERE ${scope} AND ${statusIn(unindexed(d, "status"), STATUS.cancellableAtOnce)} RETURNING *`,
      [JSON.stringify(error), now, now, scopeParam],
    ),
  );
  for (const row of cancelled) {
    result.cancelled.push(row.id);
    result.events.push(
      cancelledEvent({ taskId: row.id, rootId: row.root_id, executionId: row.execution_id }, error, at),
    );
  }
  // Pending first, running second: on PostgreSQL (READ COMMITTED) each statement sees the rows
  // committed before it started. A claim committing while the first UPDATE waits for its row lock
  // makes that UPDATE skip the row (no longer pending); the second statement, started after that
  // commit, sees it in progress and flags it. In the other order both statements could miss it.
  const running = await tx.all<{ id: string; lease_owner: string | null; ordinal: unknown }>(
    `UPDATE tasks SET cancel_requested = true WHERE ${scope} AND ${statusIn(unindexed(d, "status"), [RUNNING])} RETURNING id, lease_owner, ordinal`,
    [scopeParam],
  );
  result.running = byOrdinal(running).map((r) => ({ taskId: r.id, leaseOwner: r.lease_owner }));

  const ledger = new ExecutionLedger();
  await settle(tx, cancelled.map(settledFromRow), at, result.events, ledger, {
    cascade: !isRoot,
    failedIds: result.cancelled,
  });
  await ledger.apply(tx, at, result.events, result.finished);
  return result;
}
