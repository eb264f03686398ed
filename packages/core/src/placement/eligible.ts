import type { NodeView } from "../nodes/types.js";
import type { PlacementTask } from "./types.js";

const LIVE_STATES: ReadonlySet<NodeView["state"]> = new Set(["active", "idle", "overloaded"]);

/** A node that may be given work: heartbeating (active, idle or overloaded), not draining, with slots. */
export function isLive(node: NodeView): boolean {
  return LIVE_STATES.has(node.state) && !node.draining && node.concurrency > 0;
}

/** Whether `node` can run `task`: it has the task's executor (a grouping task fits any) and every required tag. */
export function canRun(node: NodeView, task: PlacementTask): boolean {
  if (task.executor !== null && !node.executors.includes(task.executor)) return false;
  const requires = task.placement?.requires;
  return !requires || requires.every((tag) => node.tags.includes(tag));
}

/** The live nodes that can run `task`, sorted by node id. */
export function eligibleNodes(nodes: readonly NodeView[], task: PlacementTask): NodeView[] {
  return nodes.filter((n) => isLive(n) && canRun(n, task)).sort((a, b) => compareIds(a.nodeId, b.nodeId));
}

export function compareIds(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
