import type { EventQuery, TaskEvent } from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import { type EventRow, eventFromRow } from "../store/rows.js";
import { jsonText } from "./fragments.js";

/** Events after a `seq`, in `seq` order, filtered by tree, task or execution (indexed on each). */
export async function readEvents(db: SqlSession, query: EventQuery): Promise<TaskEvent[]> {
  const where = ["seq > ?"];
  const params: SqlValue[] = [query.afterSeq ?? 0];
  if (query.rootId !== undefined) where.push("root_id = ?"), params.push(query.rootId);
  if (query.taskId !== undefined) where.push("task_id = ?"), params.push(query.taskId);
  if (query.executionId !== undefined) where.push("execution_id = ?"), params.push(query.executionId);
  params.push(query.limit ?? 1000);
  const d = db.dialect;
  const rows = await db.all<EventRow>(
    `SELECT seq, type, task_id, root_id, execution_id, status, progress, message,
            ${jsonText(d, "result")}, ${jsonText(d, "error")}, at
       FROM events WHERE ${where.join(" AND ")} ORDER BY seq LIMIT ?`,
    params,
  );
  return rows.map(eventFromRow);
}
