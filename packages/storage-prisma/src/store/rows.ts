import type {
  AttemptRecord,
  Execution,
  JsonObject,
  JsonValue,
  Priority,
  RetryPolicy,
  Task,
  TaskDependency,
  TaskError,
  TaskEvent,
  TaskSchemas,
  TaskPlacement,
  TaskStatus,
  TaskWait,
} from "@aipartnerupflow/core";
import type { Dialect, SqlRow } from "../db/types.js";

/**
 * Conversions between database rows and core's shapes. Raw SQL rows arrive as the driver gives
 * them: SQLite returns JSON as text, booleans as 0/1 and timestamps as ISO text; PostgreSQL
 * returns JSONB parsed (or as text where the SQL casts it), booleans and Dates.
 */

/** A `tasks` row as raw SQL returns it (snake_case columns). */
export interface TaskRow extends SqlRow {
  id: string;
  parent_id: string | null;
  root_id: string;
  user_id: string | null;
  name: string;
  status: string;
  priority: number;
  dependencies: unknown;
  inputs: unknown;
  params: unknown;
  schemas: unknown;
  result: unknown;
  error: unknown;
  progress: number;
  attempt: number;
  retry: unknown;
  run_at: unknown;
  original_task_id: string | null;
  has_children: unknown;
  metadata: unknown;
  created_at: unknown;
  updated_at: unknown;
  started_at: unknown;
  completed_at: unknown;
  ordinal: unknown;
  unresolved: number;
  execution_id: string | null;
  lease_owner: string | null;
  lease_token: string | null;
  lease_expires_at: unknown;
  cancel_requested: unknown;
  checkpoint: unknown;
  wait: unknown;
  placement: unknown;
  placed_on: string | null;
  place_follows: unknown;
}

export function readJson<T extends JsonValue | null>(dialect: Dialect, value: unknown): T {
  if (value === null || value === undefined) return null as T;
  return (dialect === "sqlite" ? JSON.parse(value as string) : value) as T;
}

/** JSON for a parameter: always text, so that pg does not turn arrays into PostgreSQL arrays. */
export function writeJson(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

export function readTime(value: unknown): string | null {
  if (value === null || value === undefined) return null;
  if (value instanceof Date) return value.toISOString();
  // The store's SQLite format (Prisma's): `2030-01-02T03:04:05.678+00:00`. No Date round trip.
  if (typeof value === "string" && value.length === 29 && value.endsWith("+00:00")) return `${value.slice(0, 23)}Z`;
  return new Date(value as string).toISOString();
}

export function readBool(value: unknown): boolean {
  return value === true || value === 1 || value === 1n || value === "t" || value === "true";
}

export function taskFromRow(dialect: Dialect, row: TaskRow): Task {
  return {
    id: row.id,
    parentId: row.parent_id,
    rootId: row.root_id,
    userId: row.user_id,
    name: row.name,
    status: row.status as TaskStatus,
    priority: Number(row.priority) as Priority,
    dependencies: (readJson<JsonValue>(dialect, row.dependencies) ?? []) as unknown as TaskDependency[],
    inputs: (readJson<JsonObject>(dialect, row.inputs) ?? {}) as JsonObject,
    params: (readJson<JsonObject>(dialect, row.params) ?? {}) as JsonObject,
    schemas: (readJson<JsonObject>(dialect, row.schemas) ?? {}) as TaskSchemas,
    result: readJson<JsonValue>(dialect, row.result),
    error: readJson<JsonValue>(dialect, row.error) as TaskError | null,
    progress: Number(row.progress),
    attempt: Number(row.attempt),
    retry: readJson<JsonValue>(dialect, row.retry) as RetryPolicy | null,
    runAt: readTime(row.run_at),
    originalTaskId: row.original_task_id,
    hasChildren: readBool(row.has_children),
    metadata: (readJson<JsonObject>(dialect, row.metadata) ?? {}) as JsonObject,
    createdAt: readTime(row.created_at) as string,
    updatedAt: readTime(row.updated_at) as string,
    startedAt: readTime(row.started_at),
    completedAt: readTime(row.completed_at),
    wait: readJson<JsonValue>(dialect, row.wait) as unknown as TaskWait | null,
    placement: readJson<JsonValue>(dialect, row.placement) as unknown as TaskPlacement | null,
    placedOn: row.placed_on ?? null,
  };
}

/**
 * The `tasks` columns that make a core `Task`, in the order `taskFromValues` reads them. Reads on
 * the hot paths select exactly these (plus any extras after them) as array rows.
 */
export const TASK_COLUMNS = [
  "id",
  "parent_id",
  "root_id",
  "user_id",
  "name",
  "status",
  "priority",
  "dependencies",
  "inputs",
  "params",
  "schemas",
  "result",
  "error",
  "progress",
  "attempt",
  "retry",
  "run_at",
  "original_task_id",
  "has_children",
  "metadata",
  "created_at",
  "updated_at",
  "started_at",
  "completed_at",
  "wait",
  "placement",
  "placed_on",
] as const;

const JSON_COLUMNS = new Set([
  "dependencies",
  "inputs",
  "params",
  "schemas",
  "result",
  "error",
  "retry",
  "metadata",
  "checkpoint",
  "wait",
  "placement",
]);

/**
 * The select list for `TASK_COLUMNS` followed by `extra` columns, as `taskValues` reads it back.
 * SQLite: one `json_array(...)` text per row with the JSON columns embedded (`json(col)`), because
 * libsql converts each column of each row through N-API (about 8 µs per 32-column row) while one
 * text column and a `JSON.parse` cost a fraction of that. PostgreSQL: plain columns (pg parses
 * JSONB itself). `alias` qualifies the columns (`tasks.` in UPDATE ... FROM).
 */
export function taskSelect(dialect: Dialect, extra: readonly string[] = [], alias = ""): string {
  const columns = [...TASK_COLUMNS, ...extra];
  if (dialect === "postgres") return columns.map((c) => `${alias}${c}`).join(", ");
  return `json_array(${columns.map((c) => sqliteValue(c, alias)).join(", ")})`;
}

/**
 * JSON columns are embedded as JSON (their text is kept as written). A REAL goes through
 * `quote()`: `json_array` prints reals with 15 significant digits (0.1 + 0.2 would read back as
 * 0.3), `quote` with as many as it takes to round-trip; `Number()` reads it back.
 */
function sqliteValue(column: string, alias: string): string {
  if (JSON_COLUMNS.has(column)) return `json(${alias}${column})`;
  if (column === "progress") return `quote(${alias}${column})`;
  return `${alias}${column}`;
}

/** Array rows of a `taskSelect` statement: the column values, JSON already parsed on both dialects. */
export function taskValues(dialect: Dialect, rows: unknown[][]): unknown[][] {
  return dialect === "postgres" ? rows : rows.map((r) => JSON.parse(r[0] as string) as unknown[]);
}

/** A core `Task` from the values of a `taskSelect` row (JSON parsed; timestamps text or Date). */
export function taskFromValues(v: unknown[]): Task {
  return {
    id: v[0] as string,
    parentId: v[1] as string | null,
    rootId: v[2] as string,
    userId: v[3] as string | null,
    name: v[4] as string,
    status: v[5] as TaskStatus,
    priority: Number(v[6]) as Priority,
    dependencies: (v[7] ?? []) as TaskDependency[],
    inputs: (v[8] ?? {}) as JsonObject,
    params: (v[9] ?? {}) as JsonObject,
    schemas: (v[10] ?? {}) as TaskSchemas,
    result: (v[11] ?? null) as JsonValue,
    error: (v[12] ?? null) as TaskError | null,
    progress: Number(v[13]),
    attempt: Number(v[14]),
    retry: (v[15] ?? null) as RetryPolicy | null,
    runAt: readTime(v[16]),
    originalTaskId: v[17] as string | null,
    hasChildren: readBool(v[18]),
    metadata: (v[19] ?? {}) as JsonObject,
    createdAt: readTime(v[20]) as string,
    updatedAt: readTime(v[21]) as string,
    startedAt: readTime(v[22]),
    completedAt: readTime(v[23]),
    wait: (v[24] ?? null) as TaskWait | null,
    placement: (v[25] ?? null) as TaskPlacement | null,
    placedOn: (v[26] ?? null) as string | null,
  };
}

/** Index of the first extra column of a `taskSelect` row. */
export const EXTRA = TASK_COLUMNS.length;

/** Raw `tasks` rows in creation order (RETURNING gives no order). */
export function byOrdinal<T extends { ordinal: unknown }>(rows: T[]): T[] {
  return rows.sort((a, b) => Number(a.ordinal) - Number(b.ordinal));
}

export interface ExecutionRow extends SqlRow {
  id: string;
  root_id: string;
  task_id: string;
  status: string;
  cancel_requested: unknown;
  remaining: number;
  total: number;
  failed: number;
  demo: unknown;
  user_id: string | null;
  created_at: unknown;
  finished_at: unknown;
}

export function executionFromRow(row: ExecutionRow): Execution {
  return {
    id: row.id,
    rootId: row.root_id,
    taskId: row.task_id,
    status: row.status as Execution["status"],
    cancelRequested: readBool(row.cancel_requested),
    remaining: Number(row.remaining),
    total: Number(row.total),
    demo: readBool(row.demo),
    userId: row.user_id,
    createdAt: readTime(row.created_at) as string,
    finishedAt: readTime(row.finished_at),
  };
}

/**
 * An `events` row. JSON columns are read as text on both dialects (the SQL casts them on
 * PostgreSQL) so that a stored JSON `null` stays distinct from an absent value.
 */
export interface EventRow extends SqlRow {
  seq: unknown;
  type: string;
  task_id: string;
  root_id: string;
  execution_id: string | null;
  status: string;
  progress: number | null;
  message: string | null;
  result: string | null;
  error: string | null;
  data: string | null;
  at: unknown;
}

export function eventFromRow(row: EventRow): TaskEvent {
  const event: TaskEvent = {
    seq: Number(row.seq),
    type: row.type as TaskEvent["type"],
    taskId: row.task_id,
    rootId: row.root_id,
    executionId: row.execution_id,
    status: row.status as TaskStatus,
    at: readTime(row.at) as string,
  };
  if (row.progress !== null) event.progress = Number(row.progress);
  // `task.retrying` keeps its `retryAt` in the message column (append-events.ts).
  if (row.message !== null) {
    if (event.type === "task.retrying") event.retryAt = row.message;
    else event.message = row.message;
  }
  if (row.result !== null) event.result = JSON.parse(row.result) as JsonValue;
  if (row.error !== null) event.error = JSON.parse(row.error) as TaskError | null;
  if (row.data !== null && row.data !== undefined) event.data = JSON.parse(row.data) as JsonObject;
  return event;
}

export interface AttemptRow extends SqlRow {
  attempt: number;
  started_at: unknown;
  ended_at: unknown;
  status: string;
  error: unknown;
  owner: string | null;
}

export function attemptFromRow(dialect: Dialect, row: AttemptRow): AttemptRecord {
  return {
    attempt: Number(row.attempt),
    startedAt: readTime(row.started_at) as string,
    endedAt: readTime(row.ended_at),
    status: row.status as TaskStatus,
    error: readJson<JsonValue>(dialect, row.error) as TaskError | null,
    owner: row.owner,
  };
}
