import {
  type Execution,
  type NewTask,
  storeRules,
  type SubmitStart,
  type Task,
  type TaskEvent,
} from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import {
  EVENT_ARRAYS,
  EVENT_INSERT_COLUMNS,
  EVENT_VALUES,
  EVENTS_LOCK_KEY,
  eventColumns,
  withSeqs,
} from "./append-events.js";
import { createdTasks, duplicateKey, existingIds, PG_COLUMNS, rowValues } from "./insert-tasks.js";
import { planFreshTrees } from "./submit-trees.js";

const { treeStartedEvent } = storeRules;

/**
 * Whether `submitAtOnce` can store this submission: every task pending (a fresh tree, what
 * `submit` makes) and self-contained (every parent and dependency is one of its tasks, so no
 * stored task is read or changed, and each task's unresolved count is known before it is written).
 */
export function submitsAtOnce(tasks: readonly NewTask[]): boolean {
  const ids = new Set<string>();
  for (const t of tasks) {
    if (t.status !== "pending") return false;
    ids.add(t.id);
  }
  for (const t of tasks) {
    if (t.parentId !== null && !ids.has(t.parentId)) return false;
    for (const dep of t.dependencies) if (!ids.has(dep.id)) return false;
  }
  return true;
}

/**
 * PostgreSQL: a fresh, self-contained submission (`submitsAtOnce`) in one statement outside a
 * transaction — one round trip and one commit instead of BEGIN, the duplicate check, three
 * INSERTs and COMMIT. Data-modifying CTEs insert the tasks (queued by their execution, with their
 * unresolved counts), their dependency edges and the executions; the events lock is taken after
 * them (a materialized CTE that reads their RETURNING rows) and before the events' seqs are drawn,
 * and is held until the statement commits, as `appendEvents` holds it until COMMIT. One statement
 * is atomic: every tree is stored or none. A task id that exists fails on the primary key (the
 * ids are then read, after the statement rolled back, for the same refusal as `insertTasks`).
 * The SQL text is fixed (column arrays), so it is a named prepared statement per connection.
 */
export async function submitAtOnce(
  db: SqlSession,
  tasks: readonly NewTask[],
  starts: readonly SubmitStart[],
  at: string,
): Promise<{ tasks: Task[]; executions: Execution[]; events: TaskEvent[] }> {
  const incoming = new Set<string>();
  const duplicates: string[] = [];
  for (const t of tasks) {
    if (incoming.has(t.id)) duplicates.push(t.id);
    incoming.add(t.id);
  }
  if (duplicates.length > 0) throw storeRules.duplicateIdsError(duplicates);
  const { executions, executionOf } = planFreshTrees(tasks, starts, at);

  const parents = new Set<string>();
  const statusOf = new Map<string, NewTask["status"]>();
  for (const t of tasks) {
    if (t.parentId !== null) parents.add(t.parentId);
    statusOf.set(t.id, t.status);
  }
  const taskColumns: SqlValue[][] = PG_COLUMNS.map(() => []);
  const unresolved: number[] = [];
  const edges: SqlValue[][] = [[], [], [], []];
  for (const t of tasks) {
    const values: SqlValue[] = [...rowValues(t, parents, (value) => value), executionOf.get(t.id) ?? null];
    values.forEach((v, i) => {
      taskColumns[i]?.push(v);
    });
    let waiting = 0;
    t.dependencies.forEach((dep, i) => {
      const status = statusOf.get(dep.id) as NewTask["status"];
      if (!storeRules.resolvesDependency(dep.required, status)) waiting++;
      [t.id, dep.id, dep.required, i].forEach((v, c) => {
        edges[c]?.push(v);
      });
    });
    unresolved.push(waiting);
  }
  const executionColumns: SqlValue[][] = [[], [], [], [], []];
  for (const e of executions)
    [e.id, e.rootId, e.total, e.demo, e.userId].forEach((v, i) => {
      executionColumns[i]?.push(v);
    });
  const created = createdTasks(tasks, parents, at);
  const events = [...created.events];
  for (const e of executions) events.push(treeStartedEvent(e.rootId, e.id, at));

  const params = [
    ...taskColumns,
    unresolved,
    ...edges,
    new Date(at),
    ...executionColumns,
    ...eventColumns(events),
  ] as unknown as SqlValue[];
  for (let attempt = 1; ; attempt++) {
    try {
      const rows = await db.values(SUBMIT_AT_ONCE, params, true);
      return { tasks: created.tasks, executions, events: withSeqs(events, rows) };
    } catch (err) {
      // Two submissions creating the same ids in opposite orders deadlock on the primary key:
      // the statement rolled back whole and runs again (then refused as a duplicate), as the
      // transaction it replaces is retried.
      if (attempt < MAX_ATTEMPTS && isRetryable(err)) continue;
      const refusal = duplicateKey(err);
      if (!refusal) throw err;
      const found = await existingIds(db, [...incoming]);
      throw found.size > 0 ? storeRules.duplicateIdsError([...found]) : refusal;
    }
  }
}

const MAX_ATTEMPTS = 5;

/** Deadlock and serialization failure (`db/postgres.ts` retries its transactions on the same). */
function isRetryable(err: unknown): boolean {
  const code = typeof err === "object" && err !== null ? (err as { code?: unknown }).code : undefined;
  return code === "40P01" || code === "40001";
}

const TASK_NAMES = [...PG_COLUMNS.map(([c]) => c), "unresolved"];

const SUBMIT_AT_ONCE = `WITH
  ins AS (INSERT INTO tasks (${TASK_NAMES.join(", ")}, ordinal)
    SELECT ${PG_COLUMNS.map(([c, type]) => (type === "jsonb" ? `t.${c}::jsonb` : `t.${c}`)).join(", ")}, t.unresolved,
           nextval('tasks_ordinal_seq')
      FROM unnest(${PG_COLUMNS.map(([, type]) => `?::${type === "jsonb" ? "text" : type}[]`).join(", ")}, ?::int[])
        WITH ORDINALITY AS t(${TASK_NAMES.join(", ")}, n)
     ORDER BY t.n
    RETURNING 1),
  edges AS (INSERT INTO task_dependencies (task_id, depends_on_id, required, position)
    SELECT * FROM unnest(?::text[], ?::text[], ?::boolean[], ?::int[])
    RETURNING 1),
  started AS (INSERT INTO executions (id, root_id, task_id, status, cancel_requested, remaining, total, failed, demo, user_id, created_at, ordinal)
    SELECT x.id, x.root_id, x.root_id, 'running', false, x.total, x.total, 0, x.demo, x.user_id, ?::timestamptz,
           nextval('executions_ordinal_seq')
      FROM unnest(?::text[], ?::text[], ?::int[], ?::boolean[], ?::text[]) WITH ORDINALITY AS x(id, root_id, total, demo, user_id, n)
     ORDER BY x.n
    RETURNING 1),
  apflow_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${EVENTS_LOCK_KEY}) AS held
    FROM (SELECT COUNT(*) FROM ins) a, (SELECT COUNT(*) FROM edges) b, (SELECT COUNT(*) FROM started) c)
  INSERT INTO events (${EVENT_INSERT_COLUMNS})
  SELECT ${EVENT_VALUES}
    FROM ${EVENT_ARRAYS}, apflow_lock
   ORDER BY v.n RETURNING seq`;
