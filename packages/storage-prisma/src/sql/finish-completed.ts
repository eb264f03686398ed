import { assertTransition, type FinishItem, type NewEvent, type Task } from "@aipartnerupflow/core";
import type { Dialect, SqlSession, SqlValue } from "../db/types.js";
import { type TaskRow, taskFromRow } from "../store/rows.js";
import type { ExecutionLedger } from "./execution-accounting.js";
import { chunks, IN_CHUNK, marks, timeParam, unindexed } from "./fragments.js";
import { leaseRefusal } from "./leased-task.js";

/** Completions per statement (3 parameters each). */
const ROWS_PER_STATEMENT = 200;

/**
 * Complete many claimed tasks with a fixed number of statements, whatever their number: one
 * fenced UPDATE (joined to the outcomes as a VALUES list), one UPDATE closing their attempts, one
 * UPDATE resolving a dependency of each of their pending dependents. Completion never cascades
 * failures, so this is the whole of it; the engine's common case.
 */
function completeSql(d: Dialect, n: number): string {
  const now = timeParam(d);
  const set = `status = 'completed', result = v.result, error = NULL, progress = 1, completed_at = ${now},
      updated_at = ${now}, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL`;
  if (d === "postgres") {
    const rows = Array.from({ length: n }, () => "(?, ?, ?::jsonb)").join(", ");
    return `UPDATE tasks SET ${set} FROM (VALUES ${rows}) AS v(id, token, result)
      WHERE tasks.id = v.id AND tasks.lease_token = v.token AND tasks.status = 'in_progress' RETURNING tasks.*`;
  }
  const rows = Array.from({ length: n }, () => "(?, ?, ?)").join(", ");
  return `UPDATE tasks SET ${set.replace("v.result", "v.column3")} FROM (VALUES ${rows}) AS v
    WHERE tasks.id = v.column1 AND tasks.lease_token = v.column2 AND tasks.status = 'in_progress' RETURNING *`;
}

export interface CompletedItem extends FinishItem {
  outcome: Extract<FinishItem["outcome"], { status: "completed" }>;
}

export async function finishCompleted(
  tx: SqlSession,
  items: readonly CompletedItem[],
  now: Date,
  ledger: ExecutionLedger,
): Promise<{ results: Map<string, Task | Error>; events: NewEvent[] }> {
  const d = tx.dialect;
  const results = new Map<string, Task | Error>();
  const events: NewEvent[] = [];
  const at = now.toISOString();
  const done: TaskRow[] = [];
  for (const batch of chunks(items, ROWS_PER_STATEMENT)) {
    const params: SqlValue[] = [now, now];
    for (const item of batch) {
      assertTransition(item.taskId, "in_progress", "completed");
      params.push(
        item.taskId,
        item.leaseToken,
        item.outcome.result === null ? null : JSON.stringify(item.outcome.result),
      );
    }
    const rows = await tx.all<TaskRow>(completeSql(d, batch.length), params);
    for (const row of rows) done.push(row);
  }
  if (done.length > 0) {
    for (const batch of chunks(done, ROWS_PER_STATEMENT)) {
      await tx.run(
        `UPDATE attempts SET ended_at = ${timeParam(d)}, status = 'completed', error = NULL
          WHERE (task_id, attempt) IN (VALUES ${batch.map(() => (d === "postgres" ? "(?, ?::int)" : "(?, ?)")).join(", ")})`,
        [now, ...batch.flatMap((r) => [r.id, Number(r.attempt)])],
      );
    }
    for (const batch of chunks(done, IN_CHUNK)) {
      const ids = batch.map((r) => r.id);
      const list = marks(ids.length);
      await tx.run(
        `UPDATE tasks SET unresolved = unresolved - (
            SELECT COUNT(*) FROM task_dependencies dep WHERE dep.task_id = tasks.id AND dep.depends_on_id IN (${list}))
          WHERE id IN (SELECT task_id FROM task_dependencies WHERE depends_on_id IN (${list}))
            AND ${unindexed(d, "status")} = 'pending' AND ${unindexed(d, "unresolved")} > 0`,
        [...ids, ...ids],
      );
    }
  }
  const byId = new Map(done.map((r) => [r.id, r]));
  for (const item of items) {
    const row = byId.get(item.taskId);
    if (!row) {
      results.set(item.taskId, await leaseRefusal(tx, item.taskId));
      continue;
    }
    const task = taskFromRow(d, row);
    results.set(item.taskId, task);
    ledger.count(row.execution_id, "completed");
    events.push({
      type: "task.completed",
      taskId: task.id,
      rootId: task.rootId,
      executionId: row.execution_id,
      status: "completed",
      result: task.result,
      at,
    });
  }
  return { results, events };
}
