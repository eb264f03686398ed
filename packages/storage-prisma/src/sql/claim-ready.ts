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
import type { Dialect, SqlSession, SqlValue } from "../db/types.js";
import {
  ALL_KINDS,
  KIND,
  KINDS_SQL,
  limitedPick,
  readyWhere,
  type Slot,
  SqlBuilder,
  spendTokens,
} from "./claim-limits.js";
import { EVENTS_LOCK_KEY } from "./append-events.js";
import { EXTRA, readBool, readJson, taskFromValues, taskSelect, taskValues } from "../store/rows.js";
import { chunks, IN_CHUNK, marks, sqlStatus, timeParam, unindexed } from "./fragments.js";

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
 * queued by a running execution, due (`run_at`, and the root's), in priority then FIFO order — a
 * range scan of `tasks_ready_idx`. It marks them in progress with a fresh lease token each. On
 * PostgreSQL `FOR UPDATE SKIP LOCKED` lets many nodes claim at once without waiting for each other.
 * The claim's limits (claim-limits.ts) are a second branch of the same statement, taken only when
 * `limit_rules` has rows: without rules the claim reads what it read before limits existed.
 */
interface ClaimSql {
  sql: string;
  slots: Slot[];
}

const FROM = (d: Dialect) =>
  // `unindexed` execution_id: without statistics SQLite would rather walk every task of the
  // running execution (tasks_execution_idx) and sort them than range-scan the ready index.
  `FROM tasks t JOIN executions e ON e.id = ${unindexed(d, "t.execution_id")} AND e.status = 'running'`;

function setClause(b: SqlBuilder): string {
  return `status = ${sqlStatus(RUNNING)}, attempt = attempt + 1, started_at = ${b.p("now")}, completed_at = NULL,
      error = NULL, updated_at = ${b.p("now")}, lease_owner = ${b.p("owner")}, lease_expires_at = ${b.p("expires")}`;
}

/**
 * PostgreSQL: one statement, run on its own (its own transaction: one round trip), also opens
 * the attempts, spends start tokens, reads what each claimed task's executor sees of its
 * dependencies (a JSON array per row, in their order) and appends the `task.started` events —
 * taking the events lock (append-events.ts) last, once every row it writes is locked, and only
 * when it claimed any.
 *
 * Under limits, claims must not count from snapshots older than another limited claim's commit
 * (both would see the same free slot). Each limited claim bumps the one `limit_claims` row (so
 * limited claims queue on its row lock until the previous one committed) and compares the value
 * it bumped with the one its snapshot holds: when they differ the statement claims nothing and
 * says so in its `fresh` column, and the caller runs it again with a new snapshot.
 *
 * `kinds` (claim-limits.ts `KIND`): the kinds of rules the limited statement ranks for; it claims
 * nothing while a rule of another kind exists and reports the kinds it found, so the caller runs
 * the statement built for them (`kinds` < 0: the plain statement, taken only without rules).
 */
function postgresClaim(allowList: boolean, kinds: number): ClaimSql {
  const b = new SqlBuilder("postgres");
  const lock = " FOR UPDATE OF t SKIP LOCKED";
  const from = FROM("postgres");
  const limited = kinds >= 0;
  const outside = ALL_KINDS & ~kinds;
  // Without limits: today's pick, taken only while `limit_rules` is empty (else it claims nothing
  // and reports `limited`, and the caller switches to the limited statement).
  const head = limited
    ? `flags AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM limit_rules) AS limited, ${KINDS_SQL} AS kinds),
    guard AS (INSERT INTO limit_claims (id, n) SELECT 1, 1 FROM flags WHERE flags.limited AND (flags.kinds & ${outside}) = 0
      ON CONFLICT (id) DO UPDATE SET n = limit_claims.n + 1 RETURNING n),
    gate AS MATERIALIZED (SELECT f.limited, f.kinds, f.limited AND (f.kinds & ${outside}) = 0 AS go,
      (NOT f.limited OR (f.kinds & ${outside}) <> 0
        OR (SELECT n FROM guard) = COALESCE((SELECT n FROM limit_claims WHERE id = 1), 0) + 1) AS fresh
      FROM flags f),
    ${limitedPick(b, allowList, "(SELECT go AND fresh FROM gate)", lock, from, kinds)},
    picked AS (SELECT id, demo FROM chosen),`
    : `gate AS MATERIALIZED (SELECT EXISTS (SELECT 1 FROM limit_rules) AS limited, true AS fresh, NULL::integer AS kinds),
    picked AS (SELECT t.id, e.demo ${from} WHERE NOT (SELECT limited FROM gate) AND ${readyWhere(b, allowList)}
      ORDER BY t.priority, t.ordinal LIMIT ${b.p("limit")}${lock}),`;
  const rate = limited && (kinds & KIND.rate) !== 0;
  const sql = `WITH ${head}
    claimed AS (UPDATE tasks SET ${setClause(b)}, lease_token = gen_random_uuid()::text FROM picked WHERE tasks.id = picked.id
      RETURNING ${taskSelect("postgres", CLAIM_EXTRA, "tasks.")}, picked.demo),
    opened AS (INSERT INTO attempts (task_id, attempt, started_at, status, owner)
      SELECT c.id, c.attempt, ${b.p("now")}, ${sqlStatus(RUNNING)}, ${b.p("owner")} FROM claimed c
      ON CONFLICT (task_id, attempt) DO UPDATE SET started_at = excluded.started_at, ended_at = NULL,
        status = excluded.status, error = NULL, owner = excluded.owner
      RETURNING 1),
    ${rate ? `spent AS (${spendTokens(b, "claimed")} RETURNING 1),` : ""}
    held AS MATERIALIZED (SELECT pg_advisory_xact_lock(${EVENTS_LOCK_KEY}) AS held
      FROM (SELECT COUNT(*) AS n FROM claimed) a, (SELECT COUNT(*) AS n FROM opened) o${rate ? ", (SELECT COUNT(*) AS n FROM spent) s" : ""}
      WHERE a.n > 0),
    logged AS (INSERT INTO events (type, task_id, root_id, execution_id, status, progress, at)
      SELECT '${STARTED.type}', c.id, c.root_id, c.execution_id, '${STARTED.status}', c.progress, ${b.p("now")}
        FROM claimed c, held ORDER BY c.priority, c.ordinal RETURNING seq, task_id)
    SELECT c.*, CASE WHEN jsonb_array_length(c.dependencies) = 0 THEN NULL ELSE
      (SELECT json_agg(json_build_object('id', up.id, 'name', up.name, 'status', up.status,
         'required', dep.required, 'result', up.result) ORDER BY dep.position)
         FROM task_dependencies dep JOIN tasks up ON up.id = dep.depends_on_id WHERE dep.task_id = c.id) END,
      logged.seq, g.limited, g.fresh, g.kinds
      FROM gate g LEFT JOIN (claimed c JOIN logged ON logged.task_id = c.id) ON true`;
  return { sql, slots: b.slots };
}

/** SQLite, in the claim's transaction (writers are serialized: counts read there are current). */
function sqliteClaim(allowList: boolean, kinds: number): ClaimSql {
  const b = new SqlBuilder("sqlite");
  const set = setClause(b);
  const from = FROM("sqlite");
  const pick =
    kinds >= 0
      ? `WITH ${limitedPick(b, allowList, "1 = 1", "", from, kinds)} SELECT id FROM chosen`
      : `SELECT t.id ${from} WHERE ${readyWhere(b, allowList)} ORDER BY t.priority, t.ordinal LIMIT ${b.p("limit")}`;
  const sql = `UPDATE tasks SET ${set}, lease_token = lower(hex(randomblob(16))) WHERE id IN (${pick})
    RETURNING ${taskSelect("sqlite", CLAIM_EXTRA)}`;
  return { sql, slots: b.slots };
}

/** SQLite: the start tokens of the tasks just claimed (ids as a JSON array, then the slots). */
function sqliteSpend(): ClaimSql {
  const b = new SqlBuilder("sqlite");
  const sql = `WITH claimed AS (SELECT user_id, executor FROM tasks WHERE id IN (SELECT value FROM json_each(?)))
    ${spendTokens(b, "claimed")}`;
  return { sql, slots: b.slots };
}

const cache = new Map<string, ClaimSql>();
function cached(key: string, build: () => ClaimSql): ClaimSql {
  let found = cache.get(key);
  if (!found) cache.set(key, (found = build()));
  return found;
}

/** How many times a limited PostgreSQL claim is repeated when another limited claim committed under it. */
const STALE_RETRIES = 20;

/** Columns the claim returns after the task's own (`taskSelect`), at EXTRA + i. */
const CLAIM_EXTRA = ["lease_token", "execution_id", "checkpoint", "ordinal", "executor"];
const LEASE_TOKEN = EXTRA;
const EXECUTION_ID = EXTRA + 1;
const CHECKPOINT = EXTRA + 2;
const ORDINAL = EXTRA + 3;
/** PostgreSQL only: the execution's demo flag, from the claim's CTE (one round trip less). */
const DEMO = EXTRA + 5;
/** PostgreSQL only: the dependency results (JSON array, or NULL without dependencies). */
const DEPENDENCIES = EXTRA + 6;
/** PostgreSQL only: the `seq` of the task's `task.started` event, appended by the claim. */
const SEQ = EXTRA + 7;
/** PostgreSQL only: whether `limit_rules` has rows (the plain statement claims nothing then). */
const LIMITED = EXTRA + 8;
/** PostgreSQL only: false when the snapshot was stale under limits (nothing claimed; run again). */
const FRESH = EXTRA + 9;
/** PostgreSQL only: the kinds of the rules (`KIND` bits), read by the limited statements only. */
const KINDS = EXTRA + 10;

/**
 * PostgreSQL: which statement the last claim on a database found right (the kinds of its rules, or
 * -1 without rules), so a claim costs one statement built for the rules in force. A wrong guess
 * costs one more round trip, never a wrong claim: the plain statement claims nothing while rules
 * exist, a limited one nothing while a rule of a kind it leaves out exists.
 */
const limitedHint = new WeakMap<SqlSession, number>();

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

/**
 * Candidates a limited claim reads for `limit` tasks: tasks of full users, trees and executors are
 * filtered out before this window, so it only has to absorb partly full ones.
 */
function limitWindow(limit: number): number {
  return Math.min(limit * 2 + 16, 5000);
}

async function claimRows(
  tx: SqlSession,
  options: ClaimOptions,
  now: Date,
): Promise<{ claimed: ClaimedTask[]; events: NewEvent[]; seqs: number[] }> {
  if (options.limit <= 0) return { claimed: [], events: [], seqs: [] };
  const d = tx.dialect;
  const allowList = options.executors !== undefined;
  const values: Record<Slot, SqlValue> = {
    now,
    nowMs: now.getTime(),
    limit: options.limit,
    window: limitWindow(options.limit),
    owner: options.owner,
    tags: JSON.stringify(options.tags ?? []),
    expires: new Date(now.getTime() + options.leaseMs),
    executors:
      options.executors === undefined
        ? null
        : d === "postgres"
          ? (options.executors as unknown as SqlValue)
          : JSON.stringify(options.executors),
  };
  const bind = (c: ClaimSql) => c.slots.map((slot) => values[slot]);
  let raw: unknown[][];
  let spend = false;
  if (d === "postgres") {
    let guess = limitedHint.get(tx) ?? -1;
    for (let attempt = 0; ; attempt++) {
      const statement = cached(`pg:${allowList}:${guess}`, () => postgresClaim(allowList, guess));
      const got = await tx.values(statement.sql, bind(statement), true);
      const status = got[0] ?? [];
      const rules = readBool(status[LIMITED]);
      const fresh = readBool(status[FRESH]);
      // The plain statement does not read the kinds: all of them, until a limited one says.
      const kinds = status[KINDS] === null || status[KINDS] === undefined ? ALL_KINDS : Number(status[KINDS]);
      const wanted = rules ? kinds : -1;
      if (wanted !== guess) limitedHint.set(tx, wanted);
      raw = got.filter((v) => v[0] !== null);
      if (raw.length > 0 || attempt >= STALE_RETRIES) break;
      const covered = rules ? guess >= 0 && (kinds & ~guess) === 0 : guess < 0;
      if (!covered) {
        guess = wanted;
        continue;
      }
      if (fresh) break;
    }
  } else {
    // No row without rules (the kinds are read only when there are some).
    const [found] = await tx.all<{ kinds: unknown }>(
      `SELECT ${KINDS_SQL} AS kinds FROM (SELECT 1 FROM limit_rules LIMIT 1)`,
    );
    const kinds = found === undefined ? -1 : Number(found.kinds);
    spend = kinds >= 0 && (kinds & KIND.rate) !== 0;
    const statement = cached(`sqlite:${allowList}:${kinds}`, () => sqliteClaim(allowList, kinds));
    raw = await tx.values(statement.sql, bind(statement), true);
  }
  const rows: Claimed[] = taskValues(d, raw).map((v) => ({
    task: taskFromValues(v),
    leaseToken: v[LEASE_TOKEN] as string,
    executionId: v[EXECUTION_ID] as string,
    checkpoint: (v[CHECKPOINT] ?? null) as JsonValue,
    ordinal: Number(v[ORDINAL]),
    demo: d === "postgres" ? readBool(v[DEMO]) : undefined,
    dependencies: d === "postgres" ? ((v[DEPENDENCIES] ?? []) as DependencyResult[]) : undefined,
    seq: d === "postgres" ? Number(v[SEQ]) : 0,
  }));
  if (spend && rows.length > 0) {
    const spend = cached("sqlite:spend", sqliteSpend);
    await tx.run(spend.sql, [JSON.stringify(rows.map((r) => r.task.id)), ...bind(spend)]);
  }
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
