import {
  type AttemptRecord,
  type CountQuery,
  type Execution,
  NotFoundError,
  TASK_STATUSES,
  type Task,
  type TaskPage,
  type TaskQuery,
  type TaskStatus,
} from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import {
  type AttemptRow,
  attemptFromRow,
  type ExecutionRow,
  executionFromRow,
  taskFromValues,
  taskSelect,
  taskValues,
} from "../store/rows.js";
import { marks } from "./fragments.js";

/**
 * The store's reads, as raw SQL on its own connection (they used to go through the Prisma client,
 * whose runtime cost about 500 µs per `getTask`). Rows come back as arrays (`taskSelect`), every
 * statement's text is fixed or drawn from a small set, so SQLite reuses its cached prepared
 * statements and PostgreSQL keeps named prepared statements per connection.
 */

async function readTasks(db: SqlSession, where: string, params: readonly SqlValue[], tail = ""): Promise<Task[]> {
  const d = db.dialect;
  const rows = await db.values(`SELECT ${taskSelect(d)} FROM tasks WHERE ${where}${tail}`, params, true);
  return taskValues(d, rows).map(taskFromValues);
}

export async function readTask(db: SqlSession, id: string): Promise<Task | null> {
  return (await readTasks(db, "id = ?", [id]))[0] ?? null;
}

/** Tasks by id, in the order asked, missing ids left out. One statement of fixed text. */
export async function readTasksById(db: SqlSession, ids: readonly string[]): Promise<Task[]> {
  if (ids.length === 0) return [];
  const found =
    db.dialect === "postgres"
      ? await readTasks(db, "id = ANY(?::text[])", [ids as unknown as SqlValue])
      : await readTasks(db, "id IN (SELECT value FROM json_each(?))", [JSON.stringify(ids)]);
  const byId = new Map(found.map((t) => [t.id, t]));
  const out: Task[] = [];
  for (const id of ids) {
    const task = byId.get(id);
    if (task) out.push(task);
  }
  return out;
}

export async function readChildren(db: SqlSession, parentId: string): Promise<Task[]> {
  return readTasks(db, "parent_id = ?", [parentId], " ORDER BY ordinal");
}

/** The WHERE clause of a task query (always a valid condition: `1 = 1` when unfiltered). */
function taskWhere(query: TaskQuery & CountQuery): { where: string; params: SqlValue[] } {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (query.userId === null) where.push("user_id IS NULL");
  else if (query.userId !== undefined) {
    where.push("user_id = ?");
    params.push(query.userId);
  }
  if (query.rootId !== undefined) {
    where.push("root_id = ?");
    params.push(query.rootId);
  }
  if (query.status !== undefined) {
    const statuses = Array.isArray(query.status) ? query.status : [query.status];
    if (statuses.length === 0) where.push("1 = 0");
    else {
      where.push(`status IN (${marks(statuses.length)})`);
      params.push(...statuses);
    }
  }
  if (query.rootsOnly || query.parentId === null) where.push("parent_id IS NULL");
  else if (query.parentId !== undefined) {
    where.push("parent_id = ?");
    params.push(query.parentId);
  }
  return { where: where.length === 0 ? "1 = 1" : where.join(" AND "), params };
}

export async function listTasks(db: SqlSession, query: TaskQuery): Promise<TaskPage> {
  const { where, params } = taskWhere(query);
  const order = query.order === "-createdAt" ? "DESC" : "ASC";
  const tasks = await readTasks(
    db,
    where,
    [...params, query.limit ?? 100, query.offset ?? 0],
    ` ORDER BY ordinal ${order} LIMIT ? OFFSET ?`,
  );
  const [count] = await db.values(`SELECT COUNT(*) FROM tasks WHERE ${where}`, params, true);
  return { tasks, total: Number((count as unknown[])[0]) };
}

export async function countByStatus(db: SqlSession, query: CountQuery): Promise<Record<TaskStatus, number>> {
  const { where, params } = taskWhere(query);
  const rows = await db.values(`SELECT status, COUNT(*) FROM tasks WHERE ${where} GROUP BY status`, params, true);
  const counts = Object.fromEntries(TASK_STATUSES.map((s) => [s, 0])) as Record<TaskStatus, number>;
  for (const [status, n] of rows) counts[status as TaskStatus] = Number(n);
  return counts;
}

/** A task's attempts, oldest first; a missing task is refused (NotFoundError). */
export async function readAttempts(db: SqlSession, taskId: string): Promise<AttemptRecord[]> {
  const rows = await db.all<AttemptRow>(
    "SELECT attempt, started_at, ended_at, status, error, owner FROM attempts WHERE task_id = ? ORDER BY attempt",
    [taskId],
  );
  // Attempts are deleted with their task, so rows mean the task exists; no rows need a look.
  if (rows.length === 0 && (await db.values("SELECT 1 FROM tasks WHERE id = ?", [taskId], true)).length === 0) {
    throw new NotFoundError("task", taskId);
  }
  return rows.map((row) => attemptFromRow(db.dialect, row));
}

const EXECUTION_COLUMNS =
  "id, root_id, task_id, status, cancel_requested, remaining, total, failed, demo, user_id, created_at, finished_at";

export async function readExecution(db: SqlSession, id: string): Promise<Execution | null> {
  const [row] = await db.all<ExecutionRow>(`SELECT ${EXECUTION_COLUMNS} FROM executions WHERE id = ?`, [id]);
  return row ? executionFromRow(row) : null;
}

/** Executions oldest first; with `limit`, the newest `limit` of them. */
export async function listExecutions(
  db: SqlSession,
  query: { rootId?: string; status?: Execution["status"]; limit?: number },
): Promise<Execution[]> {
  const where: string[] = [];
  const params: SqlValue[] = [];
  if (query.rootId !== undefined) {
    where.push("root_id = ?");
    params.push(query.rootId);
  }
  if (query.status !== undefined) {
    where.push("status = ?");
    params.push(query.status);
  }
  params.push(query.limit ?? 100);
  const rows = await db.all<ExecutionRow>(
    `SELECT ${EXECUTION_COLUMNS} FROM executions${where.length > 0 ? ` WHERE ${where.join(" AND ")}` : ""}
      ORDER BY ordinal DESC LIMIT ?`,
    params,
  );
  return rows.reverse().map(executionFromRow);
}
