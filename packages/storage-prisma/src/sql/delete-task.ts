import { NotFoundError, storeRules, type TaskStatus } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { chunks, IN_CHUNK, marks } from "./fragments.js";

interface TreeRow {
  id: string;
  parent_id: string | null;
  status: string;
  execution_id: string | null;
}

/**
 * Delete a task and its descendants, with their edges and attempt history (events stay: they are
 * the log). Refused while any of them runs, while its tree executes with one of them queued, or
 * when a task outside the deleted set depends on one of them.
 */
export async function deleteTask(tx: SqlSession, id: string): Promise<{ deleted: string[] }> {
  const [target] = await tx.all<{ root_id: string; parent_id: string | null }>(
    "SELECT root_id, parent_id FROM tasks WHERE id = ?",
    [id],
  );
  if (!target) throw new NotFoundError("task", id);
  const tree = await tx.all<TreeRow>(
    "SELECT id, parent_id, status, execution_id FROM tasks WHERE root_id = ? ORDER BY ordinal",
    [target.root_id],
  );
  const doomed = new Set<string>([id]);
  // Tree order is creation order, and a parent is created before its children.
  for (const row of tree) if (row.parent_id !== null && doomed.has(row.parent_id)) doomed.add(row.id);
  const running = new Set(
    (
      await tx.all<{ id: string }>("SELECT id FROM executions WHERE root_id = ? AND status = 'running'", [
        target.root_id,
      ])
    ).map((r) => r.id),
  );
  const byId = new Map(tree.map((r) => [r.id, r]));
  const ids = [...doomed];
  const dependents = new Map<string, string[]>();
  for (const batch of chunks(ids, IN_CHUNK)) {
    const edges = await tx.all<{ task_id: string; depends_on_id: string }>(
      `SELECT task_id, depends_on_id FROM task_dependencies WHERE depends_on_id IN (${marks(batch.length)})`,
      batch,
    );
    for (const e of edges) {
      let list = dependents.get(e.depends_on_id);
      if (!list) dependents.set(e.depends_on_id, (list = []));
      list.push(e.task_id);
    }
  }
  storeRules.checkDeletable(
    ids.map((taskId) => {
      const row = byId.get(taskId) as TreeRow;
      return { id: taskId, status: row.status as TaskStatus, executionId: row.execution_id };
    }),
    (taskId) => dependents.get(taskId) ?? [],
    (executionId) => running.has(executionId),
  );
  for (const batch of chunks(ids, IN_CHUNK)) {
    const list = marks(batch.length);
    await tx.run(`DELETE FROM task_dependencies WHERE task_id IN (${list})`, batch);
    await tx.run(`DELETE FROM attempts WHERE task_id IN (${list})`, batch);
    await tx.run(`DELETE FROM tasks WHERE id IN (${list})`, batch);
  }
  if (target.parent_id !== null) {
    await tx.run(
      "UPDATE tasks SET has_children = EXISTS (SELECT 1 FROM tasks child WHERE child.parent_id = ?) WHERE id = ?",
      [target.parent_id, target.parent_id],
    );
  }
  return { deleted: ids };
}
