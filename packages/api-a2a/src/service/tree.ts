import type { Task } from "@aipartnerupflow/core";

/** A task with its children, for nested tree responses. */
export type TaskNode = Task & { children: TaskNode[] };

/** Nest a flat tree (roots first, as `getTree` returns it) by `parentId`. */
export function nestTree(tasks: Task[]): TaskNode | null {
  const nodes = new Map<string, TaskNode>();
  for (const t of tasks) nodes.set(t.id, { ...t, children: [] });
  let root: TaskNode | null = null;
  for (const node of nodes.values()) {
    const parent = node.parentId === null ? undefined : nodes.get(node.parentId);
    if (parent) parent.children.push(node);
    else if (root === null) root = node;
  }
  return root;
}
