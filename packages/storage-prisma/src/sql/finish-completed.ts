import {
  assertTransition,
  type Execution,
  type FinishItem,
  type NewEvent,
  storeRules,
  type Task,
  type TaskEvent,
} from "@aipartnerupflow/core";
import type { Dialect, SqlSession, SqlValue } from "../db/types.js";
import { EXTRA, type ExecutionRow, executionFromRow, taskFromValues, taskSelect, taskValues } from "../store/rows.js";
import { EVENTS_LOCK_KEY } from "./append-events.js";
import type { ExecutionLedger } from "./execution-accounting.js";
import { chunks, IN_CHUNK, sqlStatus, statusIn, timeParam, unindexed } from "./fragments.js";

const { RUNNING, STATUS, finishEvent, treeFinishedEvent, executionFinalStatus } = storeRules;
const COMPLETED = sqlStatus("completed");
import { leaseRefusal } from "./leased-task.js";

/**
 * Dependency affinity (docs/architecture.md#placement): a dependent whose execution asked for it
 * (`place_follows`) is placed on the node that completed its dependency — the owner of the
 * attempt just closed — in the same UPDATE that resolves the dependency. A dependent that
 * several completions of one batch resolve takes one of their owners (a batch has one owner).
 */
const FOLLOW_SET =
  "placed_on = CASE WHEN tasks.place_follows THEN COALESCE(d.owner, tasks.placed_on) ELSE tasks.placed_on END";
/** PostgreSQL: the dependents a batch resolves, with how many of their dependencies and an owner. */
const UNBLOCKED_PG = `(SELECT dep.task_id, COUNT(*) AS n, MAX(closed.owner) AS owner
        FROM task_dependencies dep JOIN done ON dep.depends_on_id = done.id LEFT JOIN closed ON closed.task_id = done.id
       GROUP BY dep.task_id)`;

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
      WHERE attempts.task_id = done.id AND attempts.attempt = done.attempt RETURNING attempts.task_id, attempts.owner),
    unblocked AS (UPDATE tasks SET unresolved = unresolved - d.n, ${FOLLOW_SET}
      FROM ${UNBLOCKED_PG} AS d
      WHERE tasks.id = d.task_id AND ${statusIn(unindexed(d, "tasks.status"), STATUS.queued)} AND ${unindexed(d, "tasks.unresolved", "int")} > 0)${accounting}
    SELECT done.*, ${zeroed} FROM done`;
}

const COMPLETED_EVENT = finishEvent(
  { status: "completed", result: null },
  { taskId: "", rootId: "", executionId: null },
  null,
  "",
);
const TREE_FINISHED = treeFinishedEvent({ id: "", rootId: "" }, "completed", "").type;
/** The execution's final status as the rulebook decides it, as SQL over the executions row. */
const FINAL_STATUS = `CASE WHEN cancel_requested AND failed > 0 THEN '${executionFinalStatus(true, 1)}'
  WHEN cancel_requested THEN '${executionFinalStatus(true, 0)}'
  WHEN failed > 0 THEN '${executionFinalStatus(false, 1)}' ELSE '${executionFinalStatus(false, 0)}' END`;
for (const word of [COMPLETED_EVENT.type, COMPLETED_EVENT.status, TREE_FINISHED, FINAL_STATUS]) {
  if (/[^a-z_. '\n<>0-9A-Z]/.test(word)) throw new Error("unexpected rulebook literal");
}

/**
 * PostgreSQL: a batch of completions as one statement run on its own (its own transaction, one
 * round trip, committed when it returns): the fenced UPDATE, the attempts it closes, the
 * dependents it unblocks, the executions' counts (finishing those it brings to zero) and the
 * events — each task's `task.completed`, then each finished execution's one `tree.finished` —
 * appended after taking the events lock (append-events.ts), the last lock it takes.
 */
function completeAtOnceSql(n: number): string {
  const d: Dialect = "postgres";
  const now = timeParam(d);
  const rows = Array.from({ length: n }, (_, i) => `(?, ?, ?::jsonb, ${i})`).join(", ");
  const set = `status = ${COMPLETED}, result = v.result, error = NULL, progress = 1, completed_at = ${now},
      updated_at = ${now}, lease_owner = NULL, lease_token = NULL, lease_expires_at = NULL`;
  return `WITH v(id, token, result, pos) AS (VALUES ${rows}),
    done AS (UPDATE tasks SET ${set} FROM v
      WHERE tasks.id = v.id AND tasks.lease_token = v.token AND ${statusIn("tasks.status", [RUNNING])}
      RETURNING ${taskSelect(d, ["execution_id"], "tasks.")}, v.pos),
    closed AS (UPDATE attempts SET ended_at = ${now}, status = ${COMPLETED}, error = NULL FROM done
      WHERE attempts.task_id = done.id AND attempts.attempt = done.attempt RETURNING attempts.task_id, attempts.owner),
    unblocked AS (UPDATE tasks SET unresolved = unresolved - d.n, ${FOLLOW_SET}
      FROM ${UNBLOCKED_PG} AS d
      WHERE tasks.id = d.task_id AND ${statusIn(unindexed(d, "tasks.status"), STATUS.queued)} AND ${unindexed(d, "tasks.unresolved", "int")} > 0
      RETURNING 1),
    counted AS (UPDATE executions SET
        remaining = CASE WHEN remaining - c.n <= 0 THEN 0 ELSE remaining - c.n END,
        status = CASE WHEN remaining - c.n <= 0 THEN ${FINAL_STATUS} ELSE status END,
        finished_at = CASE WHEN remaining - c.n <= 0 THEN ${now} ELSE finished_at END
      FROM (SELECT execution_id, COUNT(*) AS n FROM done WHERE execution_id IS NOT NULL GROUP BY execution_id) AS c
      WHERE executions.id = c.execution_id AND executions.status = 'running'
      RETURNING executions.*),
    held AS MATERIALIZED (SELECT pg_advisory_xact_lock(${EVENTS_LOCK_KEY}) AS held
      FROM (SELECT COUNT(*) AS n FROM done) a, (SELECT COUNT(*) FROM closed) b, (SELECT COUNT(*) FROM unblocked) u,
           (SELECT COUNT(*) FROM counted) x WHERE a.n > 0),
    logged AS (INSERT INTO events (type, task_id, root_id, execution_id, status, result, at)
      SELECT e.type, e.task_id, e.root_id, e.execution_id, e.status, e.result, ${now} FROM (
        SELECT 0 AS k, done.pos AS pos, '' AS eid, '${COMPLETED_EVENT.type}' AS type, done.id AS task_id, done.root_id,
               done.execution_id, '${COMPLETED_EVENT.status}' AS status, COALESCE(done.result, 'null'::jsonb) AS result
          FROM done
        UNION ALL
        SELECT 1, 0, counted.id, '${TREE_FINISHED}', counted.root_id, counted.root_id, counted.id, counted.status, NULL
          FROM counted WHERE counted.status <> 'running') AS e, held
      ORDER BY e.k, e.pos, e.eid COLLATE "C"
      RETURNING seq, type, task_id)
    SELECT done.*, logged.seq,
      (SELECT json_agg(json_build_object('execution', to_jsonb(counted.*),
         'seq', (SELECT l.seq FROM logged l WHERE l.type = '${TREE_FINISHED}' AND l.task_id = counted.root_id)))
         FROM counted WHERE counted.status <> 'running')
      FROM done JOIN logged ON logged.task_id = done.id AND logged.type = '${COMPLETED_EVENT.type}'`;
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
    // The owner of each closed attempt: the node a dependent with dependency affinity follows.
    const owners = new Map<string, string | null>();
    for (const batch of chunks(done, ROWS_PER_STATEMENT)) {
      const closed = await tx.all<{ task_id: string; owner: string | null }>(
        `UPDATE attempts SET ended_at = ${timeParam(d)}, status = ${COMPLETED}, error = NULL
          WHERE (task_id, attempt) IN (VALUES ${batch.map(() => "(?, ?)").join(", ")}) RETURNING task_id, owner`,
        [now, ...batch.flatMap((r) => [r.task.id, r.task.attempt])],
      );
      for (const c of closed) owners.set(c.task_id, c.owner);
    }
    // Each pending dependent loses one unresolved dependency per completed task it waits for: the
    // reverse index finds them, grouped, and the primary key updates each once.
    for (const batch of chunks(done, IN_CHUNK / 2)) {
      const pairs = batch.flatMap((r) => [r.task.id, owners.get(r.task.id) ?? null]);
      await tx.run(
        `UPDATE tasks SET unresolved = unresolved - d.n, ${FOLLOW_SET}
           FROM (SELECT dep.task_id, COUNT(*) AS n, MAX(v.column2) AS owner
                   FROM task_dependencies dep JOIN (VALUES ${batch.map(() => "(?, ?)").join(", ")}) AS v
                     ON dep.depends_on_id = v.column1
                  GROUP BY dep.task_id) AS d
          WHERE tasks.id = d.task_id AND ${statusIn(unindexed(d, "tasks.status"), STATUS.queued)} AND ${unindexed(d, "tasks.unresolved", "int")} > 0`,
        pairs,
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

/** PostgreSQL: complete a batch at once (`completeAtOnceSql`); refusals are read afterwards. */
export async function completeAtOnce(
  db: SqlSession,
  items: readonly CompletedItem[],
  now: Date,
): Promise<{
  results: Array<{ taskId: string; task: Task | null; error: Error | null }>;
  events: TaskEvent[];
  finished: Execution[];
}> {
  const at = now.toISOString();
  const done = new Map<string, { task: Task; executionId: string | null; seq: number }>();
  const finishedEvents: TaskEvent[] = [];
  const finished: Execution[] = [];
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
    params.push(now, now, now, now, now);
    const rows = await db.values(completeAtOnceSql(batch.length), params, true);
    for (const v of rows) {
      done.set(v[0] as string, {
        task: taskFromValues(v),
        executionId: (v[EXTRA] ?? null) as string | null,
        seq: Number(v[EXTRA + 2]),
      });
    }
    const closed = (rows[0]?.[EXTRA + 3] ?? []) as Array<{ execution: ExecutionRow; seq: number }>;
    for (const { execution, seq } of storeRules.orderFinished(closed.map((c) => ({ ...c, id: c.execution.id })))) {
      const e = executionFromRow(execution);
      finished.push(e);
      finishedEvents.push({ ...treeFinishedEvent(e, e.status, at), seq: Number(seq) } as TaskEvent);
    }
  }
  const results: Array<{ taskId: string; task: Task | null; error: Error | null }> = [];
  const events: TaskEvent[] = [];
  for (const item of items) {
    const row = done.get(item.taskId);
    if (!row) {
      results.push({ taskId: item.taskId, task: null, error: await leaseRefusal(db, item.taskId) });
      continue;
    }
    const { task, executionId, seq } = row;
    results.push({ taskId: item.taskId, task, error: null });
    events.push({
      ...finishEvent(
        { status: "completed", result: task.result },
        { taskId: task.id, rootId: task.rootId, executionId },
        task.result,
        at,
      ),
      seq,
    } as TaskEvent);
  }
  for (const e of finishedEvents) events.push(e);
  events.sort((a, b) => a.seq - b.seq);
  return { results, events, finished };
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
