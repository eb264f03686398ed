import type { EventQuery, TaskEvent } from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import { type EventRow, eventFromRow } from "../store/rows.js";
import { jsonText } from "./fragments.js";

/**
 * Events after a `seq`, in `seq` order, filtered by tree, task or execution. Trees and executions
 * are indexed; a task's events are found through its tree's index (there is no index by task: it
 * was the costliest write of every transition), so a query by task alone looks its root up first.
 * A deleted task's events stay readable, by a scan.
 */
export async function readEvents(db: SqlSession, query: EventQuery): Promise<TaskEvent[]> {
  let rootId = query.rootId;
  if (rootId === undefined && query.taskId !== undefined) {
    const [row] = await db.values("SELECT root_id FROM tasks WHERE id = ?", [query.taskId], true);
    if (row) rootId = row[0] as string;
  }
  const where = ["seq > ?"];
  const params: SqlValue[] = [query.afterSeq ?? 0];
  const filter = (clause: string, value: SqlValue): void => {
    where.push(clause);
    params.push(value);
  };
  if (rootId !== undefined) filter("root_id = ?", rootId);
  if (query.taskId !== undefined) filter("task_id = ?", query.taskId);
  if (query.executionId !== undefined) filter("execution_id = ?", query.executionId);
  params.push(query.limit ?? 1000);
  const d = db.dialect;
  const rows = await db.all<EventRow>(
    `SELECT seq, type, task_id, root_id, execution_id, status, progress, message,
            ${jsonText(d, "result")}, ${jsonText(d, "error")}, ${jsonText(d, "data")}, at
       FROM events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`,
    params,
  );
  return rows.map(eventFromRow);
}
