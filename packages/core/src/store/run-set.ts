import { TASK_STATUSES, type Task, type TaskStatus } from "../types.js";

type TaskLike = Pick<Task, "id" | "parentId" | "status" | "dependencies">;

/**
 * Which tasks an execution runs (docs/semantics.md#re-execution), in tree order. Shared by every store so that they
 * agree exactly.
 * - the root, `rerun: "failed"`: every task that is not completed, plus everything that
 *   depends on one of them (transitively); completed tasks keep their results.
 * - the root, `rerun: "all"`: the whole tree.
 * - a task inside the tree: that task plus whatever it needs (transitively) that is not
 *   completed (`rerun: "all"`: everything it needs).
 */
export function planRunSet(tree: readonly TaskLike[], taskId: string, rerun: "failed" | "all"): string[] {
  const target = tree.find((t) => t.id === taskId);
  if (!target) return [];
  // Nothing completed (a fresh tree) means everything runs: no closure to compute.
  if (target.parentId === null && (rerun === "all" || tree.every((t) => t.status !== "completed"))) {
    return tree.map((t) => t.id);
  }
  const byId = new Map(tree.map((t) => [t.id, t]));
  const chosen = new Set<string>();

  if (target.parentId === null) {
    const dependents = new Map<string, string[]>();
    for (const t of tree) {
      for (const dep of t.dependencies) {
        let list = dependents.get(dep.id);
        if (!list) dependents.set(dep.id, (list = []));
        list.push(t.id);
      }
    }
    const stack = tree.filter((t) => t.status !== "completed").map((t) => t.id);
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (chosen.has(id)) continue;
      chosen.add(id);
      for (const next of dependents.get(id) ?? []) stack.push(next);
    }
  } else {
    const stack = [taskId];
    while (stack.length > 0) {
      const id = stack.pop() as string;
      if (chosen.has(id)) continue;
      chosen.add(id);
      for (const dep of byId.get(id)?.dependencies ?? []) {
        const upstream = byId.get(dep.id);
        if (upstream && (rerun === "all" || upstream.status !== "completed")) stack.push(dep.id);
      }
    }
  }
  return tree.filter((t) => chosen.has(t.id)).map((t) => t.id);
}

export function emptyCounts(): Record<TaskStatus, number> {
  const counts = {} as Record<TaskStatus, number>;
  for (const s of TASK_STATUSES) counts[s] = 0;
  return counts;
}
