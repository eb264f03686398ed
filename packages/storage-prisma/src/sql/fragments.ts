import { TASK_STATUSES, type TaskStatus } from "@aipartnerupflow/core";
import type { Dialect } from "../db/types.js";

/** Small pieces of SQL that differ between the dialects, and list helpers. */

/** A JSON parameter (text bound, JSONB on PostgreSQL). */
export function jsonParam(dialect: Dialect): string {
  return dialect === "postgres" ? "?::jsonb" : "?";
}

/** A timestamp parameter (a Date bound). */
export function timeParam(dialect: Dialect): string {
  return dialect === "postgres" ? "?::timestamptz" : "?";
}

/** A JSON column read as text, so that a stored JSON `null` differs from SQL NULL. */
export function jsonText(dialect: Dialect, column: string): string {
  return dialect === "postgres" ? `${column}::text AS ${column}` : column;
}

/** `?, ?, ?` for n values. */
export function marks(n: number): string {
  return n === 1 ? "?" : `?${", ?".repeat(n - 1)}`;
}

/**
 * A status as a SQL literal, e.g. `'pending'`. Statuses are a closed set (checked here), so the
 * literal is safe; the stores take them from core's rulebook (`storeRules.STATUS`, `RUNNING`,
 * next states) rather than writing them by hand.
 */
export function sqlStatus(status: TaskStatus): string {
  if (!TASK_STATUSES.includes(status)) throw new Error(`not a task status: ${status}`);
  return `'${status}'`;
}

/**
 * `column = 'a'` for one status (so that a partial index `WHERE status = 'a'` still matches),
 * `column IN ('a', 'b')` for more; `NOT` variants with `negate`.
 */
export function statusIn(column: string, statuses: readonly TaskStatus[], negate = false): string {
  if (statuses.length === 0) return negate ? "1 = 1" : "1 = 0";
  if (statuses.length === 1) return `${column} ${negate ? "<>" : "="} ${sqlStatus(statuses[0] as TaskStatus)}`;
  return `${column} ${negate ? "NOT IN" : "IN"} (${statuses.map(sqlStatus).join(", ")})`;
}

/** Split a list so that no statement binds more parameters than the drivers allow. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** Ids per `IN (...)` list. */
export const IN_CHUNK = 500;

/**
 * A column reference the planner must not pick an index for. SQLite without statistics prefers
 * `tasks_ready_idx` for `status = 'pending'` over the primary key of an `id IN (...)` list, which
 * scans every pending task; its unary `+` rules that index out. PostgreSQL on tables not analyzed
 * yet (a fresh database under its first large tree) makes the same choice; an expression of the
 * column (`status || ''`, `unresolved + 0`) rules it out there.
 */
export function unindexed(dialect: Dialect, column: string, kind: "text" | "int" = "text"): string {
  if (dialect === "sqlite") return `+${column}`;
  return kind === "text" ? `(${column} || '')` : `(${column} + 0)`;
}
