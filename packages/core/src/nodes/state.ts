import { ApflowError, ErrorCode } from "../errors.js";
import type { NodeRecord, NodeRegistration, NodeState, NodeView } from "./types.js";

/** Missed beats before a node counts as stale. */
export const STALE_AFTER_BEATS = 3;

/** A machine whose 1-minute load average per core is above this counts as overloaded. */
export const OVERLOADED_LOAD = 1.5;

/**
 * A node's state at `now`, derived from its record (never stored): `dead` past `deadAfterMs`
 * without a beat, `stale` after 3 missed beats, then `draining` when asked to stop claiming,
 * `overloaded` when its machine's load per core is above 1.5, `active` while it runs tasks,
 * `idle` otherwise.
 */
export function nodeState(node: NodeRecord, now: Date): NodeState {
  const silentMs = now.getTime() - node.heartbeatAt.getTime();
  if (silentMs > node.deadAfterMs) return "dead";
  if (silentMs > STALE_AFTER_BEATS * node.heartbeatMs) return "stale";
  if (node.draining) return "draining";
  if (node.load > OVERLOADED_LOAD) return "overloaded";
  return node.running > 0 ? "active" : "idle";
}

export function viewNode(node: NodeRecord, now: Date): NodeView {
  return { ...node, state: nodeState(node, now) };
}

/** Refuse a registration that cannot work, naming the field. */
export function checkRegistration(node: NodeRegistration): void {
  const bad = (field: string, why: string): never => {
    throw new ApflowError(ErrorCode.InvalidParams, `node ${field} ${why}`, { field });
  };
  if (typeof node.nodeId !== "string" || node.nodeId.length === 0 || node.nodeId.length > 200)
    bad("nodeId", "must be 1..200 characters");
  if (!Number.isInteger(node.concurrency) || node.concurrency < 0) bad("concurrency", "must be an integer >= 0");
  if (!Number.isFinite(node.heartbeatMs) || node.heartbeatMs <= 0) bad("heartbeatMs", "must be a positive number");
  if (!Number.isFinite(node.deadAfterMs) || node.deadAfterMs <= STALE_AFTER_BEATS * node.heartbeatMs)
    bad(
      "deadAfterMs",
      `must be more than ${STALE_AFTER_BEATS} heartbeats (${STALE_AFTER_BEATS * node.heartbeatMs} ms)`,
    );
}
