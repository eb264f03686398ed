import type { NodeView } from "../nodes/types.js";
import { compareIds } from "./eligible.js";

/**
 * What placement remembers across executions (the engine keeps one): the round-robin turn, and
 * how many tasks it placed on each node since that node's last heartbeat (least-loaded counts
 * them as running: the node's own count catches up at its next beat).
 */
export interface PlacementCursor {
  /** Units placed round-robin so far: the next one takes candidate `turn % candidates`. */
  turn: number;
  /** Node id → tasks placed on it since its heartbeat at `beatAt` (epoch ms). */
  placed: Map<string, { beatAt: number; count: number }>;
}

export function newPlacementCursor(): PlacementCursor {
  return { turn: 0, placed: new Map() };
}

/** Tasks placed on `node` by this cursor since its last heartbeat. */
export function placedSinceBeat(cursor: PlacementCursor, node: NodeView): number {
  const entry = cursor.placed.get(node.nodeId);
  return entry && entry.beatAt === node.heartbeatAt.getTime() ? entry.count : 0;
}

/** Record `count` tasks placed on `node`. */
export function notePlaced(cursor: PlacementCursor, node: NodeView, count: number): void {
  if (count === 0) return;
  const beatAt = node.heartbeatAt.getTime();
  cursor.placed.set(node.nodeId, { beatAt, count: placedSinceBeat(cursor, node) + count });
}

/** (running + placed since its last beat) / concurrency. */
export function loadOf(cursor: PlacementCursor, node: NodeView): number {
  return (node.running + placedSinceBeat(cursor, node)) / node.concurrency;
}

/** The candidate with the lowest load, ties by node id. */
export function leastLoaded(cursor: PlacementCursor, candidates: readonly NodeView[]): NodeView | undefined {
  let best: NodeView | undefined;
  let bestLoad = Number.POSITIVE_INFINITY;
  for (const node of candidates) {
    const load = loadOf(cursor, node);
    if (load < bestLoad || (load === bestLoad && best !== undefined && compareIds(node.nodeId, best.nodeId) < 0)) {
      best = node;
      bestLoad = load;
    }
  }
  return best;
}

/** The next candidate in turn, in node id order; advances the turn. */
export function roundRobin(cursor: PlacementCursor, candidates: readonly NodeView[]): NodeView | undefined {
  if (candidates.length === 0) return undefined;
  const sorted = isSorted(candidates) ? candidates : [...candidates].sort((a, b) => compareIds(a.nodeId, b.nodeId));
  const node = sorted[cursor.turn % sorted.length];
  cursor.turn += 1;
  return node;
}

const isSorted = (nodes: readonly NodeView[]): boolean =>
  nodes.every((n, i) => i === 0 || compareIds((nodes[i - 1] as NodeView).nodeId, n.nodeId) < 0);

const preferredCount = (node: NodeView, prefers: readonly string[]): number =>
  prefers.reduce((n, tag) => (node.tags.includes(tag) ? n + 1 : n), 0);

/** The candidates holding a preferred tag, when any does; all of them otherwise. */
export function narrowToPreferred(candidates: readonly NodeView[], prefers: readonly string[] | undefined): NodeView[] {
  if (!prefers || prefers.length === 0) return [...candidates];
  const holding = candidates.filter((n) => preferredCount(n, prefers) > 0);
  return holding.length > 0 ? holding : [...candidates];
}

/** The candidates holding the most preferred tags (at least one); none when no candidate holds any. */
export function mostPreferred(candidates: readonly NodeView[], prefers: readonly string[] | undefined): NodeView[] {
  if (!prefers || prefers.length === 0) return [];
  let most = 0;
  let out: NodeView[] = [];
  for (const node of candidates) {
    const n = preferredCount(node, prefers);
    if (n > most) {
      most = n;
      out = [node];
    } else if (n === most && n > 0) out.push(node);
  }
  return out;
}
