import {
  assertTransition,
  type ClaimedTask,
  type ClaimOptions,
  type DependencyResult,
  type JsonValue,
  type NewEvent,
  storeRules,
  type Task,
  type TaskEvent,
  type TaskStatus,
} from "@aipartnerupflow/core";
import type { Dialect, SqlSession } from "../db/types.js";
import { EVENTS_LOCK_KEY } from "./append-events.js";
import { EXTRA, readBool, readJson, taskFromValues, taskSelect, taskValues } from "../store/rows.js";
import { chunks, IN_CHUNK, marks, sqlStatus, statusIn, timeParam, unindexed } from "./fragments.js";

const { RUNNING, STATUS, startedEvent } = storeRules;
/** The claim's event as the rulebook builds it (its type and status, for the SQL that writes it). */
const STARTED = startedEvent({ taskId: "", rootId: "", executionId: null }, 0, "");
if (!/^[a-z_.]+$/.test(`${STARTED.type}${STARTED.status}`)) throw new Error("unexpected started event");

// The ready index is partial (`WHERE status = 'pending'`, migration 0002): the claim's condition,
// built from core's claimable statuses, must read `status = 'pending'` for the planner to use it.
// A second claimable status needs a migration of that index first.
if (STATUS.claimable.join() !== "pending") throw new Error("claimReady expects pending -> in_progress only");

/**
 * One statement takes the ready tasks: pending, every dependency resolved (`unresolved = 0`),
 * queued by a running execution, due (`run_at`), in priority then FIFO order — a range scan of
 * `tasks_ready_idx`. It marks them in progress with a fresh lease token each. On PostgreSQL
 * `FOR UPDATE SKIP LOCKED` lets many nodes claim at once without waiting for each other.
 */
function claimSql(d: Dialect): string {
  const now = timeParam(d);
  const set = `status = ${sqlStatus(RUNNING)}, attempt = attempt + 1, started_at = ${now}, completed_at = NULL,
      error = NULL, updated_at = ${now}, lease_owner = ?, lease_expires_at = ${now}`;
  // `unindexed` execution_id: without statistics SQLite would rather walk every task of the
  // running execution (tasks_execution_idx) and sort them than range-scan the ready index.
  const pick = `SELECT t.id${d === "postgres" ? ", e.demo" : ""} FROM tasks t JOIN executions e ON e.id = ${unindexed(d, "t.execution_id")} AND e.status = 'running'
      WHERE ${statusIn("t.status", STATUS.claimable)} AND t.unresolved = 0 AND (t.run_at IS NULL OR t.run_at <= ${now})
      ORDER BY t.priority, t.ordinal LIMIT ?`;
  // PostgreSQL: one statement, run on its own (its own transaction: one round trip), also opens
  // the attempts, reads what each claimed task's executor sees of its dependencies (a JSON array
  // per row, in their order) and appends the `task.started` events — taking the events lock
  // (append-events.ts) last, once every row it writes is locked, and only when it claimed any.
  return d === "postgres"
    ? `WITH picked AS (${pick} FOR UPDATE OF t SKIP LOCKED),
       claimed AS (UPDATE tasks SET ${set}, lease_token = gen_random_uuid()::text FROM picked WHERE tasks.id = picked.id
         RETURNING ${taskSelect(d, CLAIM_EXTRA, "tasks.")}, picked.demo),
       opened AS (INSERT INTO attempts (task_id, attempt, started_at, status, owner)
         SELECT c.id, c.attempt, ${now}, ${sqlStatus(RUNNING)}, ? FROM claimed c
         ON CONFLICT (task_id, attempt) DO UPDATE SET started_at = excluded.started_at, ended_at = NULL,
           status = excluded.status, error = NULL, owner = excluded.owner
         RETURNING 1),
       held AS MATERIALIZED (SELECT pg_advisory_xact_lock(${EVENTS_LOCK_KEY}) AS held
         FROM (SELECT COUNT(*) AS n FROM claimed) a, (SELECT COUNT(*) AS n FROM opened) b WHERE a.n > 0),
       logged AS (INSERT INTO events (type, task_id, root_id, execution_id, status, progress, at)
         SELECT '${STARTED.type}', c.id, c.root_id, c.execution_id, '${STARTED.status}', c.progress, ${now}
           FROM claimed c, held ORDER BY c.priority, c.ordinal RETURNING seq, task_id)
       SELECT c.*, CASE WHEN jsonb_array_length(c.dependencies) = 0 THEN NULL ELSE
         (SELECT json_agg(json_build_object('id', up.id, 'name', up.name, 'status', up.status,
            'required', dep.required, 'result', up.result) ORDER BY dep.position)
            FROM task_dependencies dep JOIN tasks up ON up.id = dep.depends_on_id WHERE dep.task_id = c.id) END,
         logged.seq
         FROM claimed c JOIN logged ON logged.task_id = c.id`
    : `UPDATE tasks SET ${set}, lease_token = lower(hex(randomblob(16))) WHERE id IN (${pick}) RETURNING ${taskSelect(d, CLAIM_EXTRA)}`;
}

/** Columns the claim returns after the task's own (`taskSelect`), at EXTRA + i. */
const CLAIM_EXTRA = ["lease_token", "execution_id", "checkpoint", "ordinal"];
const LEASE_TOKEN = EXTRA;
const EXECUTION_ID = EXTRA + 1;
const CHECKPOINT = EXTRA + 2;
const ORDINAL = EXTRA + 3;
/** PostgreSQL only: the execution's demo flag, from the claim's CTE (one round trip less). */
const DEMO = EXTRA + 4;
/** PostgreSQL only: the dependency results (JSON array, or NULL without dependencies). */
const DEPENDENCIES = EXTRA + 5;
/** PostgreSQL only: the `seq` of the task's `task.started` event, appended by the claim. */
const SEQ = EXTRA + 6;

interface Claimed {
  task: Task;
  leaseToken: string;
  executionId: string;
  checkpoint: JsonValue;
  ordinal: number;
  demo: boolean | undefined;
  /** PostgreSQL: read by the claim itself. */
  dependencies: DependencyResult[] | undefined;
  seq: number;
}

interface DependencyRow {
  task_id: string;
  required: unknown;
  id: string;
  name: string;
  status: string;
  result: unknown;
}

/**
 * PostgreSQL: the whole claim in one statement outside any explicit transaction (committed, so
 * durable, when it returns), its `task.started` events appended by it with their `seq`.
 */
export async function claimReadyAtOnce(
  db: SqlSession,
  options: ClaimOptions,
  now: Date,
): Promise<{ claimed: ClaimedTask[]; events: TaskEvent[] }> {
  const { claimed, events, seqs } = await claimRows(db, options, now);
  return { claimed, events: events.map((e, i) => ({ ...e, seq: seqs[i] as number }) as TaskEvent) };
}

/** SQLite: in the caller's transaction, which appends the events. */
export async function claimReady(
  tx: SqlSession,
  options: ClaimOptions,
  now: Date,
): Promise<{ claimed: ClaimedTask[]; events: NewEvent[] }> {
  const { claimed, events } = await claimRows(tx, options, now);
  return { claimed, events };
}

async function claimRows(
  tx: SqlSession,
  options: ClaimOptions,
  now: Date,
): Promise<{ claimed: ClaimedTask[]; events: NewEvent[]; seqs: number[] }> {
  if (options.limit <= 0) return { claimed: [], events: [], seqs: [] };
  const d = tx.dialect;
  const expires = new Date(now.getTime() + options.leaseMs);
  const set = [now, now, options.owner, expires];
  const pick = [now, options.limit];
  // PostgreSQL's statement names the picked rows first (a CTE), SQLite's names them last.
  const params = d === "postgres" ? [...pick, ...set, now, options.owner, now] : [...set, ...pick];
  const rows: Claimed[] = taskValues(d, await tx.values(claimSql(d), params, true)).map((v) => ({
    task: taskFromValues(v),
    leaseToken: v[LEASE_TOKEN] as string,
    executionId: v[EXECUTION_ID] as string,
    checkpoint: (v[CHECKPOINT] ?? null) as JsonValue,
    ordinal: Number(v[ORDINAL]),
    demo: v.length > DEMO ? readBool(v[DEMO]) : undefined,
    dependencies: d === "postgres" ? ((v[DEPENDENCIES] ?? []) as DependencyResult[]) : undefined,
    seq: d === "postgres" ? Number(v[SEQ]) : 0,
  }));
  if (rows.length === 0) return { claimed: [], events: [], seqs: [] };
  rows.sort((a, b) => a.task.priority - b.task.priority || a.ordinal - b.ordinal);
  const at = now.toISOString();

  if (d !== "postgres") {
    await tx.run(
      `INSERT INTO attempts (task_id, attempt, started_at, status, owner)
     VALUES ${rows.map(() => `(?, ?, ${timeParam(d)}, ${sqlStatus(RUNNING)}, ?)`).join(", ")}
     ON CONFLICT (task_id, attempt) DO UPDATE SET started_at = excluded.started_at, ended_at = NULL,
       status = excluded.status, error = NULL, owner = excluded.owner`,
      rows.flatMap((r) => [r.task.id, r.task.attempt, now, options.owner]),
    );
  }
  const dependencies =
    d === "postgres"
      ? new Map(rows.map((r) => [r.task.id, r.dependencies ?? []]))
      : await dependencyResults(
          tx,
          rows.filter((r) => r.task.dependencies.length > 0).map((r) => r.task.id),
        );
  const demo =
    d === "postgres" ? new Map(rows.map((r) => [r.executionId, r.demo === true])) : await demoFlags(tx, rows);

  const claimed: ClaimedTask[] = [];
  const events: NewEvent[] = [];
  const seqs: number[] = [];
  for (const { task, leaseToken, executionId, checkpoint, seq } of rows) {
    seqs.push(seq);
    assertTransition(task.id, STATUS.claimable[0] as TaskStatus, task.status);
    claimed.push({
      task,
      leaseToken,
      executionId,
      demo: demo.get(executionId) ?? false,
      dependencies: task.dependencies.length === 0 ? [] : (dependencies.get(task.id) ?? []),
      lastCheckpoint: checkpoint,
    });
    events.push(startedEvent({ taskId: task.id, rootId: task.rootId, executionId }, task.progress, at));
  }
  return { claimed, events, seqs };
}

/** What each claimed task's executor sees of its dependencies, in the order they were written. */
async function dependencyResults(tx: SqlSession, ids: string[]): Promise<Map<string, DependencyResult[]>> {
  const out = new Map<string, DependencyResult[]>();
  for (const batch of chunks(ids, IN_CHUNK)) {
    const deps = await tx.all<DependencyRow>(
      `SELECT dep.task_id, dep.required, up.id, up.name, up.status, up.result
         FROM task_dependencies dep JOIN tasks up ON up.id = dep.depends_on_id
        WHERE dep.task_id IN (${marks(batch.length)}) ORDER BY dep.task_id, dep.position`,
      batch,
    );
    for (const dep of deps) {
      let list = out.get(dep.task_id);
      if (!list) out.set(dep.task_id, (list = []));
      list.push({
        id: dep.id,
        name: dep.name,
        status: dep.status as TaskStatus,
        required: readBool(dep.required),
        result: readJson<JsonValue>(tx.dialect, dep.result),
      });
    }
  }
  return out;
}

async function demoFlags(tx: SqlSession, rows: Claimed[]): Promise<Map<string, boolean>> {
  const ids = [...new Set(rows.map((r) => r.executionId))];
  const found = await tx.all<{ id: string; demo: unknown }>(
    `SELECT id, demo FROM executions WHERE id IN (${marks(ids.length)})`,
    ids,
  );
  return new Map(found.map((e) => [e.id, readBool(e.demo)]));
}
