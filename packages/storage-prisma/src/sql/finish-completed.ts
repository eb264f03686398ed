import { assertTransition, type FinishItem, type NewEvent, storeRules, type Task } from "@aipartnerupflow/core";
import type { Dialect, SqlSession, SqlValue } from "../db/types.js";
import { EXTRA, taskFromValues, taskSelect, taskValues } from "../store/rows.js";
import type { ExecutionLedger } from "./execution-accounting.js";
import { chunks, IN_CHUNK, marks, sqlStatus, statusIn, timeParam, unindexed } from "./fragments.js";

const { RUNNING, STATUS, finishEvent } = storeRules;
const COMPLETED = sqlStatus("completed");
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
  const set = `status = ${COMPLETED}, result = v.result, error = NULL, progress = 1, completed_at = ${now},
      updated_at = ${now}, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL`;
  if (d === "postgres") {
    const rows = Array.from({ length: n }, () => "(?, ?, ?::jsonb)").join(", ");
    return `UPDATE tasks SET ${set} FROM (VALUES ${rows}) AS v(id, token, result)
      WHERE tasks.id = v.id AND tasks.lease_token = v.token AND ${statusIn("tasks.status", [RUNNING])}
      RETURNING ${taskSelect(d, ["execution_id"], "tasks.")}`;
  }
  const rows = Array.from({ length: n }, () => "(?, ?, ?)").join(", ");
  return `UPDATE tasks SET ${set.replace("v.result", "v.column3")} FROM (VALUES ${rows}) AS v
    WHERE tasks.id = v.column1 AND tasks.lease_token = v.column2 AND ${statusIn("tasks.status", [RUNNING])}
    RETURNING ${taskSelect(d, ["execution_id"])}`;
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
  const done: Array<{ task: Task; executionId: string | null }> = [];
  for (const batch of chunks(items, ROWS_PER_STATEMENT)) {
    const params: SqlValue[] = [now, now];
    for (const item of batch) {
      assertTransition(item.taskId, RUNNING, "completed");
      params.push(
        item.taskId,
        item.leaseToken,
        item.outcome.result === null ? null : JSON.stringify(item.outcome.result),
      );
    }
    const rows = taskValues(d, await tx.values(completeSql(d, batch.length), params));
    for (const v of rows) done.push({ task: taskFromValues(v), executionId: (v[EXTRA] ?? null) as string | null });
  }
  if (done.length > 0) {
    for (const batch of chunks(done, ROWS_PER_STATEMENT)) {
      await tx.run(
        `UPDATE attempts SET ended_at = ${timeParam(d)}, status = ${COMPLETED}, error = NULL
          WHERE (task_id, attempt) IN (VALUES ${batch.map(() => (d === "postgres" ? "(?, ?::int)" : "(?, ?)")).join(", ")})`,
        [now, ...batch.flatMap((r) => [r.task.id, r.task.attempt])],
      );
    }
    // Each pending dependent loses one unresolved dependency per completed task it waits for: the
    // reverse index finds them, grouped, and the primary key updates each once.
    for (const batch of chunks(done, IN_CHUNK)) {
      const ids = batch.map((r) => r.task.id);
      await tx.run(
        `UPDATE tasks SET unresolved = unresolved - d.n
           FROM (SELECT task_id, COUNT(*) AS n FROM task_dependencies WHERE depends_on_id IN (${marks(ids.length)})
                  GROUP BY task_id) AS d
          WHERE tasks.id = d.task_id AND ${statusIn(unindexed(d, "tasks.status"), STATUS.queued)} AND ${unindexed(d, "tasks.unresolved", "int")} > 0`,
        ids,
      );
    }
  }
  const byId = new Map(done.map((r) => [r.task.id, r]));
  for (const item of items) {
    const row = byId.get(item.taskId);
    if (!row) {
      results.set(item.taskId, await leaseRefusal(tx, item.taskId));
      continue;
    }
    const { task, executionId } = row;
    results.set(item.taskId, task);
    ledger.count(executionId, "completed");
    events.push(
      finishEvent(
        { status: "completed", result: task.result },
        { taskId: task.id, rootId: task.rootId, executionId },
        task.result,
        at,
      ),
    );
  }
  return { results, events };
}
