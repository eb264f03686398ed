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
 * UPDATE resolving a dependency of each of their pending dependents (SQLite; PostgreSQL does all
 * of it in one statement, `completeAllSql`). Completion never cascades failures, so this is the
 * whole of it; the engine's common case.
 */
function completeSql(n: number): string {
  const d: Dialect = "sqlite";
  const now = timeParam(d);
  const set = `status = ${COMPLETED}, result = v.result, error = NULL, progress = 1, completed_at = ${now},
      updated_at = ${now}, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL`;
  const rows = Array.from({ length: n }, () => "(?, ?, ?)").join(", ");
  return `UPDATE tasks SET ${set.replace("v.result", "v.column3")} FROM (VALUES ${rows}) AS v
    WHERE tasks.id = v.column1 AND tasks.lease_token = v.column2 AND ${statusIn("tasks.status", [RUNNING])}
    RETURNING ${taskSelect(d, ["execution_id"])}`;
}

/**
 * PostgreSQL: the whole completion in one statement (one round trip): the fenced UPDATE, the
 * attempts it closes, the dependents it unblocks and, with `account`, the executions' counts —
 * returning, once per statement, the executions it brought to zero remaining tasks.
 */
function completeAllSql(n: number, account: boolean): string {
  const d: Dialect = "postgres";
  const now = timeParam(d);
  const rows = Array.from({ length: n }, () => "(?, ?, ?::jsonb)").join(", ");
  const set = `status = ${COMPLETED}, result = v.result, error = NULL, progress = 1, completed_at = ${now},
      updated_at = ${now}, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL`;
  const accounting = account
    ? `, counted AS (UPDATE executions SET remaining = remaining - c.n FROM
         (SELECT execution_id, COUNT(*) AS n FROM done WHERE execution_id IS NOT NULL GROUP BY execution_id) AS c
        WHERE executions.id = c.execution_id AND executions.status = 'running' RETURNING executions.id, executions.remaining)`
    : "";
  const zeroed = account ? "(SELECT json_agg(counted.id) FROM counted WHERE counted.remaining <= 0)" : "NULL";
  return `WITH v(id, token, result) AS (VALUES ${rows}),
    done AS (UPDATE tasks SET ${set} FROM v
      WHERE tasks.id = v.id AND tasks.lease_token = v.token AND ${statusIn("tasks.status", [RUNNING])}
      RETURNING ${taskSelect(d, ["execution_id"], "tasks.")}),
    closed AS (UPDATE attempts SET ended_at = ${now}, status = ${COMPLETED}, error = NULL FROM done
      WHERE attempts.task_id = done.id AND attempts.attempt = done.attempt),
    unblocked AS (UPDATE tasks SET unresolved = unresolved - d.n
      FROM (SELECT dep.task_id, COUNT(*) AS n FROM task_dependencies dep JOIN done ON dep.depends_on_id = done.id
             GROUP BY dep.task_id) AS d
      WHERE tasks.id = d.task_id AND ${statusIn(unindexed(d, "tasks.status"), STATUS.queued)} AND ${unindexed(d, "tasks.unresolved", "int")} > 0)${accounting}
    SELECT done.*, ${zeroed} FROM done`;
}

export interface CompletedItem extends FinishItem {
  outcome: Extract<FinishItem["outcome"], { status: "completed" }>;
}

export async function finishCompleted(
  tx: SqlSession,
  items: readonly CompletedItem[],
  now: Date,
  ledger: ExecutionLedger,
  /** PostgreSQL: count the executions in the statement itself (the batch holds nothing else). */
  account = false,
): Promise<{ results: Map<string, Task | Error>; events: NewEvent[]; zeroed: string[] }> {
  const d = tx.dialect;
  if (d === "postgres") return completeAll(tx, items, now, ledger, account);
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
    const rows = taskValues(d, await tx.values(completeSql(batch.length), params));
    for (const v of rows) done.push({ task: taskFromValues(v), executionId: (v[EXTRA] ?? null) as string | null });
  }
  if (done.length > 0) {
    for (const batch of chunks(done, ROWS_PER_STATEMENT)) {
      await tx.run(
        `UPDATE attempts SET ended_at = ${timeParam(d)}, status = ${COMPLETED}, error = NULL
          WHERE (task_id, attempt) IN (VALUES ${batch.map(() => "(?, ?)").join(", ")})`,
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
  return { results, events, zeroed: [] };
}

async function completeAll(
  tx: SqlSession,
  items: readonly CompletedItem[],
  now: Date,
  ledger: ExecutionLedger,
  account: boolean,
): Promise<{ results: Map<string, Task | Error>; events: NewEvent[]; zeroed: string[] }> {
  const results = new Map<string, Task | Error>();
  const events: NewEvent[] = [];
  const zeroed = new Set<string>();
  const at = now.toISOString();
  const done = new Map<string, { task: Task; executionId: string | null }>();
  for (const batch of chunks(items, ROWS_PER_STATEMENT)) {
    const params: SqlValue[] = [];
    for (const item of batch) {
      assertTransition(item.taskId, RUNNING, "completed");
      params.push(
        item.taskId,
        item.leaseToken,
        item.outcome.result === null ? null : JSON.stringify(item.outcome.result),
      );
    }
    params.push(now, now, now);
    const rows = await tx.values(completeAllSql(batch.length, account), params, true);
    for (const v of rows) {
      done.set(v[0] as string, { task: taskFromValues(v), executionId: (v[EXTRA] ?? null) as string | null });
      for (const id of (v[EXTRA + 1] ?? []) as string[]) zeroed.add(id);
    }
  }
  for (const item of items) {
    const row = done.get(item.taskId);
    if (!row) {
      results.set(item.taskId, await leaseRefusal(tx, item.taskId));
      continue;
    }
    const { task, executionId } = row;
    results.set(item.taskId, task);
    if (!account) ledger.count(executionId, "completed");
    events.push(
      finishEvent(
        { status: "completed", result: task.result },
        { taskId: task.id, rootId: task.rootId, executionId },
        task.result,
        at,
      ),
    );
  }
  return { results, events, zeroed: [...zeroed] };
}
