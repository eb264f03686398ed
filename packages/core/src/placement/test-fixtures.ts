import type { NodeRecord, NodeView } from "../nodes/types.js";
import { viewNode } from "../nodes/state.js";
import type { PlacementTask, TaskPlacement } from "./types.js";

export const NOW = new Date("2026-01-01T00:00:10.000Z");

/** A node record heartbeating at NOW (idle, 4 slots, executor `work`), with `over` applied. */
export function record(nodeId: string, over: Partial<NodeRecord> = {}): NodeRecord {
  return {
    nodeId,
    host: "h",
    pid: 1,
    version: "0",
    executors: ["work"],
    tags: [],
    cpu: 2,
    memory: 1,
    concurrency: 4,
    heartbeatMs: 1000,
    deadAfterMs: 5000,
    running: 0,
    load: 0,
    startedAt: new Date(0),
    heartbeatAt: NOW,
    draining: false,
    handedBackAt: null,
    wakeups: null,
    ...over,
  };
}

export function node(nodeId: string, over: Partial<NodeRecord> = {}): NodeView {
  return viewNode(record(nodeId, over), NOW);
}

export function task(
  id: string,
  parentId: string | null,
  over: { executor?: string | null; placement?: TaskPlacement | null; rootId?: string } = {},
): PlacementTask {
  return {
    id,
    parentId,
    rootId: over.rootId ?? "r",
    executor: over.executor === undefined ? "work" : over.executor,
    placement: over.placement ?? null,
  };
}

/** r (grouping) with branches a, b, c; each branch has two children (a1, a2, ...). */
export function threeBranches(): PlacementTask[] {
  const out = [task("r", null, { executor: null })];
  for (const b of ["a", "b", "c"]) {
    out.push(task(b, "r"));
    out.push(task(`${b}1`, b), task(`${b}2`, b));
  }
  return out;
}
