import { ApflowError, ErrorCode, NotFoundError } from "../errors.js";
import type { Engine } from "../engine/engine.js";
import { nodeState, viewNode } from "./state.js";
import type { NodeStore, NodeView } from "./types.js";

/** The engine's node registry, or a clear error when its store has none. */
export function requireNodes(engine: Engine): NodeStore {
  const nodes = engine.store.nodes;
  if (!nodes) throw new ApflowError(ErrorCode.InvalidParams, "this store has no node registry (store.nodes)");
  return nodes;
}

export interface HandBackResult {
  nodeId: string;
  /** Tasks whose leases were handed back (the reclaim then retried, failed or cancelled each). */
  tasks: string[];
}

/**
 * Hand back at once the leases a node holds (it is dead: it cannot be renewing), instead of
 * waiting out the lease: its running tasks' leases expire now and the engine's reclaim applies
 * the reclaim rules to them (retry, `LEASE_EXPIRED` past the attempts, cancellation). Recorded as
 * a `node.leases_handed_back` event naming who did it.
 */
export async function handBackLeases(
  engine: Engine,
  nodeId: string,
  by: { actor: string; reason: string },
): Promise<HandBackResult> {
  const nodes = requireNodes(engine);
  const now = engine.clock();
  const tasks = await nodes.expireLeases(nodeId, now);
  if (tasks.length > 0) await engine.reclaimExpired();
  if (await nodes.markHandedBack(nodeId, now)) {
    await nodes.appendEvent({
      type: "node.leases_handed_back",
      nodeId,
      at: now,
      detail: { tasks, by: by.actor, reason: by.reason },
    });
  } else if (tasks.length > 0) {
    await nodes.appendEvent({
      type: "node.leases_handed_back",
      nodeId,
      at: now,
      detail: { tasks, by: by.actor, reason: by.reason, registered: false },
    });
  }
  return { nodeId, tasks };
}

/**
 * `nodes.requeue`: hand a dead node's tasks back at once. A node that is still alive (active,
 * idle, overloaded, draining) is refused unless `force`: its tasks would run twice. An owner that
 * is not registered (an old process, an `apflow run`) may be named too.
 */
export async function requeueNode(
  engine: Engine,
  nodeId: string,
  options: { force?: boolean; actor?: string } = {},
): Promise<HandBackResult & { state: NodeView["state"] | null }> {
  const nodes = requireNodes(engine);
  const node = await nodes.get(nodeId);
  const state = node ? nodeState(node, engine.clock()) : null;
  if (state !== null && state !== "dead" && state !== "stale" && !options.force) {
    throw new ApflowError(
      ErrorCode.InvalidParams,
      `node ${nodeId} is ${state}: its tasks are running; requeue only a dead or stale node (or pass force)`,
      { field: "nodeId", state },
    );
  }
  const result = await handBackLeases(engine, nodeId, {
    actor: options.actor ?? "admin",
    reason: options.force ? "requeue (forced)" : "requeue",
  });
  return { ...result, state };
}

/** `nodes.drain`: ask a node to stop claiming (or to claim again); it finishes what it runs. */
export async function drainNode(engine: Engine, nodeId: string, draining = true): Promise<NodeView> {
  const nodes = requireNodes(engine);
  const node = await nodes.drain(nodeId, draining);
  if (!node) throw new NotFoundError("node", nodeId);
  const now = engine.clock();
  await nodes.appendEvent({ type: "node.drain", nodeId, at: now, detail: { draining } });
  return viewNode(node, now);
}

/** Every registered node with its state now. */
export async function listNodes(engine: Engine): Promise<NodeView[]> {
  const now = engine.clock();
  return (await requireNodes(engine).list()).map((n) => viewNode(n, now));
}

/** One node with its state now. */
export async function getNode(engine: Engine, nodeId: string): Promise<NodeView> {
  const node = await requireNodes(engine).get(nodeId);
  if (!node) throw new NotFoundError("node", nodeId);
  return viewNode(node, engine.clock());
}
