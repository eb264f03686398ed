import type { Task } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { type TaskRow, taskFromRow } from "../store/rows.js";

/**
 * Every task of a tree in creation order: the engine reads it whenever an execution finishes,
 * so it is raw SQL (a range scan of `tasks_root_idx`) rather than the slower generic client read.
 */
export async function readTree(db: SqlSession, rootId: string): Promise<Task[]> {
  const rows = await db.all<TaskRow>("SELECT * FROM tasks WHERE root_id = ? ORDER BY ordinal", [rootId]);
  return rows.map((row) => taskFromRow(db.dialect, row));
}
