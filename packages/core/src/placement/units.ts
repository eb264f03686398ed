import type { PlacementGranularity, PlacementTask, PlacementUnit } from "./types.js";

/**
 * The units of `tasks` to place, in tree order (depth first, siblings in the order given):
 * - `task`: each task alone;
 * - `subtree`: each top task (a root, or a task whose parent is not among `tasks`) alone, and each
 *   branch under it (a child and everything below) as one unit;
 * - `root`: each tree (a top task and everything below) as one unit.
 */
export function placementUnits(tasks: readonly PlacementTask[], granularity: PlacementGranularity): PlacementUnit[] {
  const ids = new Set(tasks.map((t) => t.id));
  const children = new Map<string, PlacementTask[]>();
  const tops: PlacementTask[] = [];
  for (const t of tasks) {
    if (t.parentId === null || !ids.has(t.parentId)) {
      tops.push(t);
      continue;
    }
    let list = children.get(t.parentId);
    if (!list) children.set(t.parentId, (list = []));
    list.push(t);
  }
  const below = (head: PlacementTask): PlacementTask[] => {
    const out: PlacementTask[] = [];
    const stack = [head];
    while (stack.length > 0) {
      const t = stack.pop() as PlacementTask;
      out.push(t);
      const kids = children.get(t.id);
      if (kids) for (let i = kids.length - 1; i >= 0; i--) stack.push(kids[i] as PlacementTask);
    }
    return out;
  };
  const units: PlacementUnit[] = [];
  for (const top of tops) {
    if (granularity === "root") {
      units.push({ granularity, head: top, tasks: below(top) });
    } else if (granularity === "subtree") {
      units.push({ granularity, head: top, tasks: [top] });
      for (const branch of children.get(top.id) ?? []) units.push({ granularity, head: branch, tasks: below(branch) });
    } else {
      for (const t of below(top)) units.push({ granularity, head: t, tasks: [t] });
    }
  }
  return units;
}
