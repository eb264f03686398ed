import type { Execution, NewEvent, TaskStatus } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { type ExecutionRow, executionFromRow } from "../store/rows.js";
import { timeParam } from "./fragments.js";

/**
 * Count tasks that became terminal against their execution: `remaining` goes down, failures
 * are counted, and the write that brings `remaining` to 0 finishes the execution and appends
 * its one `tree.finished` event. The row lock of the UPDATE makes that exactly once.
 */
export async function countTerminal(
  tx: SqlSession,
  executionId: string | null,
  statuses: readonly TaskStatus[],
  at: string,
  events: NewEvent[],
  finished: Execution[],
): Promise<void> {
  if (executionId === null || statuses.length === 0) return;
  const failed = statuses.filter((s) => s !== "completed").length;
  const rows = await tx.all<ExecutionRow>(
    `UPDATE executions SET remaining = remaining - ?, failed = failed + ?
      WHERE id = ? AND status = 'running' RETURNING *`,
    [statuses.length, failed, executionId],
  );
  const row = rows[0];
  if (row && Number(row.remaining) <= 0) finished.push(await finishExecution(tx, row, at, events));
}

/** Close a running execution: cancelled if asked, failed if anything did not complete. */
export async function finishExecution(
  tx: SqlSession,
  row: ExecutionRow,
  at: string,
  events: NewEvent[],
): Promise<Execution> {
  const current = executionFromRow(row);
  const status: Execution["status"] = current.cancelRequested
    ? "cancelled"
    : Number(row.failed) > 0
      ? "failed"
      : "completed";
  await tx.run(
    `UPDATE executions SET status = ?, finished_at = ${timeParam(tx.dialect)}, remaining = 0 WHERE id = ?`,
    [status, new Date(at), current.id],
  );
  events.push({
    type: "tree.finished",
    taskId: current.rootId,
    rootId: current.rootId,
    executionId: current.id,
    status,
    at,
  });
  return { ...current, status, remaining: 0, finishedAt: at };
}
