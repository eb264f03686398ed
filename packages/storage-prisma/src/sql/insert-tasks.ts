import {
  type ApflowError,
  executorIdOf,
  type NewEvent,
  type NewTask,
  storeRules,
  type Task,
} from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import { writeJson } from "../store/rows.js";
import { chunks, IN_CHUNK, jsonParam, marks, timeParam } from "./fragments.js";

const TASK_ROWS_PER_INSERT = 100;
const EDGE_ROWS_PER_INSERT = 300;

/** Ids of `ids` that exist in `tasks`. */
export async function existingIds(tx: SqlSession, ids: readonly string[]): Promise<Set<string>> {
  const found = new Set<string>();
  if (ids.length === 0) return found;
  if (tx.dialect === "postgres") {
    const rows = await tx.all<{ id: string }>("SELECT id FROM tasks WHERE id = ANY(?::text[])", [
      [...new Set(ids)],
    ] as unknown as SqlValue[]);
    for (const r of rows) found.add(r.id);
    return found;
  }
  for (const batch of chunks([...new Set(ids)], IN_CHUNK)) {
    const rows = await tx.all<{ id: string }>(`SELECT id FROM tasks WHERE id IN (${marks(batch.length)})`, batch);
    for (const r of rows) found.add(r.id);
  }
  return found;
}

/** The refusal of task ids that exist: the same error whether found by the check or the key. */
const duplicateIds = storeRules.duplicateIdsError;

/**
 * PostgreSQL: a concurrent create of the same id commits between this transaction's check and
 * its INSERT, which then fails on the primary key (SQLSTATE 23505, waiting for that commit). The
 * id is in the error's detail: `Key (id)=(...) already exists.`
 */
export function duplicateKey(err: unknown): ApflowError | undefined {
  const e = err as { code?: unknown; constraint?: unknown; detail?: unknown } | null;
  if (typeof e !== "object" || e === null || e.code !== "23505" || e.constraint !== "tasks_pkey") return undefined;
  const id = typeof e.detail === "string" ? /^Key \(id\)=\((.*)\) already exists\.?$/.exec(e.detail)?.[1] : undefined;
  return duplicateIds(id === undefined ? ["(concurrently created)"] : [id]);
}

/**
 * Write validated tasks, their dependency edges and their `task.created` events in the caller's
 * transaction. Refuses ids that exist (never replaces a task) and references to unknown tasks.
 */
export async function insertTasks(
  tx: SqlSession,
  tasks: readonly NewTask[],
  at: string,
  /** The execution each task is queued by as it is written (`submitTrees`). */
  executionOf?: ReadonlyMap<string, string>,
): Promise<{ tasks: Task[]; events: NewEvent[] }> {
  const incoming = new Set<string>();
  const duplicates: string[] = [];
  for (const t of tasks) {
    if (incoming.has(t.id)) duplicates.push(t.id);
    incoming.add(t.id);
  }
  for (const id of await existingIds(tx, [...incoming])) duplicates.push(id);
  if (duplicates.length > 0) throw duplicateIds(duplicates);
  const outside = new Set<string>();
  for (const t of tasks) {
    for (const dep of t.dependencies) if (!incoming.has(dep.id)) outside.add(dep.id);
    if (t.parentId !== null && !incoming.has(t.parentId)) outside.add(t.parentId);
  }
  const found = await existingIds(tx, [...outside]);
  const missing = [...outside].filter((id) => !found.has(id));
  if (missing.length > 0) throw storeRules.unknownReferencesError(missing);

  const d = tx.dialect;
  // Creation order. PostgreSQL: the sequence, one value per row in VALUES order (distinct across
  // processes creating at once). SQLite: MAX + 1, safe because writers hold the one write lock
  // from BEGIN IMMEDIATE.
  let ordinal = 0;
  if (d === "sqlite") {
    const [{ next }] = (await tx.all<{ next: unknown }>("SELECT COALESCE(MAX(ordinal), 0) + 1 AS next FROM tasks")) as [
      { next: unknown },
    ];
    ordinal = Number(next);
  }
  const row = `(?, ?, ?, ?, ?, ?, ?, ${jsonParam(d)}, ${jsonParam(d)}, ${jsonParam(d)}, ${jsonParam(d)}, ${jsonParam(d)}, ${jsonParam(d)}, ?, ?, ${jsonParam(d)}, ${timeParam(d)}, ${timeParam(d)}, ?, ?, ${jsonParam(d)}, ${timeParam(d)}, ${timeParam(d)}, ${timeParam(d)}, ${timeParam(d)}, ${jsonParam(d)}, ?, ?, ?)`;
  const parents = new Set<string>();
  for (const t of tasks) if (t.parentId !== null) parents.add(t.parentId);

  if (d === "postgres") await insertPostgres(tx, tasks, parents, executionOf);
  else
    for (const batch of chunks(tasks, TASK_ROWS_PER_INSERT)) {
      const params: SqlValue[] = [];
      for (const t of batch) {
        params.push(...rowValues(t, parents, sqliteTime));
        params.push(ordinal++, executionOf?.get(t.id) ?? null);
      }
      await tx
        .run(
          `INSERT INTO tasks (id, parent_id, root_id, user_id, name, status, priority, dependencies, inputs, params,
         schemas, result, error, progress, attempt, retry, run_at, user_run_at, original_task_id, has_children, metadata,
         created_at, updated_at, started_at, completed_at, placement, executor, ordinal, execution_id)
       VALUES ${Array.from({ length: batch.length }, () => row).join(", ")}`,
          params,
        )
        .catch((err: unknown) => {
          throw duplicateKey(err) ?? err;
        });
    }

  const edges: SqlValue[][] = [];
  for (const t of tasks) {
    t.dependencies.forEach((dep, i) => {
      edges.push([t.id, dep.id, dep.required, i]);
    });
  }
  if (d === "postgres" && edges.length > 0) {
    const columns: SqlValue[][] = [[], [], [], []];
    for (const e of edges)
      e.forEach((v, i) => {
        columns[i]?.push(v);
      });
    await tx.run(
      `INSERT INTO task_dependencies (task_id, depends_on_id, required, position)
       SELECT * FROM unnest(?::text[], ?::text[], ?::boolean[], ?::int[])`,
      columns as unknown as SqlValue[],
    );
  }
  for (const batch of d === "postgres" ? [] : chunks(edges, EDGE_ROWS_PER_INSERT)) {
    await tx.run(
      `INSERT INTO task_dependencies (task_id, depends_on_id, required, position) VALUES ${batch.map(() => "(?, ?, ?, ?)").join(", ")}`,
      batch.flat(),
    );
  }

  const existingParents = [...parents].filter((id) => !incoming.has(id));
  for (const batch of chunks(existingParents, IN_CHUNK)) {
    await tx.run(`UPDATE tasks SET has_children = true WHERE id IN (${marks(batch.length)})`, batch);
  }

  return createdTasks(tasks, parents, at);
}

/** The tasks as `insertTasks` wrote them, and their `task.created` events. */
export function createdTasks(
  tasks: readonly NewTask[],
  parents: ReadonlySet<string>,
  at: string,
): { tasks: Task[]; events: NewEvent[] } {
  const created: Task[] = tasks.map((t) => ({
    ...t,
    dependencies: t.dependencies.map((dep) => ({ id: dep.id, required: dep.required })),
    hasChildren: parents.has(t.id),
    placement: t.placement ?? null,
    placedOn: null,
    updatedAt: t.createdAt,
    wait: null,
  }));
  const events: NewEvent[] = created.map((t) => storeRules.createdEvent(t, at));
  return { tasks: created, events };
}

/** The task columns `insertPostgres` writes from arrays, with their array types. */
export const PG_COLUMNS: Array<[string, string]> = [
  ["id", "text"],
  ["parent_id", "text"],
  ["root_id", "text"],
  ["user_id", "text"],
  ["name", "text"],
  ["status", "text"],
  ["priority", "int"],
  ["dependencies", "jsonb"],
  ["inputs", "jsonb"],
  ["params", "jsonb"],
  ["schemas", "jsonb"],
  ["result", "jsonb"],
  ["error", "jsonb"],
  ["progress", "float8"],
  ["attempt", "int"],
  ["retry", "jsonb"],
  ["run_at", "timestamptz"],
  ["user_run_at", "timestamptz"],
  ["original_task_id", "text"],
  ["has_children", "boolean"],
  ["metadata", "jsonb"],
  ["created_at", "timestamptz"],
  ["updated_at", "timestamptz"],
  ["started_at", "timestamptz"],
  ["completed_at", "timestamptz"],
  ["placement", "jsonb"],
  ["executor", "text"],
  ["execution_id", "text"],
];

/**
 * PostgreSQL: every task in one INSERT of column arrays (`unnest`; a fixed, prepared statement
 * whatever their number), ordinals drawn in the tasks' order.
 */
const INSERT_POSTGRES = `INSERT INTO tasks (${PG_COLUMNS.map(([c]) => c).join(", ")}, ordinal)
  SELECT ${PG_COLUMNS.map(([c, type]) => (type === "jsonb" ? `v.${c}::jsonb` : `v.${c}`)).join(", ")}, nextval('tasks_ordinal_seq')
    FROM unnest(${PG_COLUMNS.map(([, type]) => `?::${type === "jsonb" ? "text" : type}[]`).join(", ")})
      WITH ORDINALITY AS v(${PG_COLUMNS.map(([c]) => c).join(", ")}, n)
   ORDER BY v.n`;

async function insertPostgres(
  tx: SqlSession,
  tasks: readonly NewTask[],
  parents: ReadonlySet<string>,
  executionOf: ReadonlyMap<string, string> | undefined,
): Promise<void> {
  const columns: SqlValue[][] = PG_COLUMNS.map(() => []);
  for (const t of tasks) {
    const values: SqlValue[] = [...rowValues(t, parents, (value) => value), executionOf?.get(t.id) ?? null];
    values.forEach((v, i) => {
      columns[i]?.push(v);
    });
  }
  await tx.run(INSERT_POSTGRES, columns as unknown as SqlValue[]).catch((err: unknown) => {
    throw duplicateKey(err) ?? err;
  });
}

/**
 * One task's column values, `id` through `completed_at`, then `placement` and `executor`, in the order both dialects insert them;
 * `time` renders a timestamp for the driver (SQLite binds Dates, PostgreSQL's arrays take text).
 */
export function rowValues(
  t: NewTask,
  parents: ReadonlySet<string>,
  time: (value: string | null) => SqlValue,
): SqlValue[] {
  return [
    t.id,
    t.parentId,
    t.rootId,
    t.userId,
    t.name,
    t.status,
    t.priority,
    JSON.stringify(t.dependencies.map((dep) => ({ id: dep.id, required: dep.required }))),
    JSON.stringify(t.inputs),
    JSON.stringify(t.params),
    JSON.stringify(t.schemas),
    writeJson(t.result),
    writeJson(t.error),
    t.progress,
    t.attempt,
    writeJson(t.retry),
    time(t.runAt),
    time(t.runAt),
    t.originalTaskId,
    parents.has(t.id),
    JSON.stringify(t.metadata),
    time(t.createdAt),
    time(t.createdAt),
    time(t.startedAt),
    time(t.completedAt),
    writeJson(t.placement ?? null),
    executorIdOf(t).id,
  ];
}

function sqliteTime(value: string | null): Date | null {
  return value === null ? null : new Date(value);
}
