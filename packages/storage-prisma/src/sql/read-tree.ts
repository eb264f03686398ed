import type { Task } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { taskFromValues, taskSelect, taskValues } from "../store/rows.js";

/**
 * Every task of a tree in creation order: the engine reads it whenever an execution finishes
 * (a range scan of `tasks_root_idx`).
 */
export async function readTree(db: SqlSession, rootId: string): Promise<Task[]> {
  const d = db.dialect;
  const rows = await db.values(`SELECT ${taskSelect(d)} FROM tasks WHERE root_id = ? ORDER BY ordinal`, [rootId], true);
  return taskValues(d, rows).map(taskFromValues);
}
