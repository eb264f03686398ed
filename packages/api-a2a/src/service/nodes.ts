import {
  drainNode,
  type Engine,
  ForbiddenError,
  getNode,
  listNodes,
  type NodeEvent,
  type NodeView,
  requeueNode,
  requireNodes,
} from "@aipartnerupflow/core";
import type { Principal } from "../types.js";

/** A node as the API shows it: the record with its derived state, times as ISO strings. */
export interface NodeJson extends Omit<NodeView, "startedAt" | "heartbeatAt" | "handedBackAt" | "wakeups"> {
  startedAt: string;
  heartbeatAt: string;
  handedBackAt: string | null;
  wakeups: { transport: string; connected: boolean; since: string } | null;
}

export interface NodeEventJson extends Omit<NodeEvent, "at"> {
  at: string;
}

const json = (n: NodeView): NodeJson => ({
  ...n,
  startedAt: n.startedAt.toISOString(),
  heartbeatAt: n.heartbeatAt.toISOString(),
  handedBackAt: n.handedBackAt ? n.handedBackAt.toISOString() : null,
  wakeups: n.wakeups
    ? { transport: n.wakeups.transport, connected: n.wakeups.connected, since: n.wakeups.since.toISOString() }
    : null,
});

/**
 * The node registry operations of every surface (`TaskService.nodes`, `apflow nodes`):
 * administrators only (every caller when auth is off), since nodes run everyone's tasks.
 */
export class NodeOperations {
  readonly #engine: Engine;

  constructor(engine: Engine) {
    this.#engine = engine;
  }

  #admin(principal: Principal): void {
    if (!principal.admin) throw new ForbiddenError("nodes.* is for administrators");
    requireNodes(this.#engine);
  }

  async list(principal: Principal): Promise<{ nodes: NodeJson[] }> {
    this.#admin(principal);
    return { nodes: (await listNodes(this.#engine)).map(json) };
  }

  async get(principal: Principal, nodeId: string): Promise<NodeJson> {
    this.#admin(principal);
    return json(await getNode(this.#engine, nodeId));
  }

  async drain(principal: Principal, nodeId: string, draining: boolean): Promise<NodeJson> {
    this.#admin(principal);
    return json(await drainNode(this.#engine, nodeId, draining));
  }

  async requeue(
    principal: Principal,
    nodeId: string,
    force: boolean,
  ): Promise<{ nodeId: string; state: NodeView["state"] | null; tasks: string[] }> {
    this.#admin(principal);
    return requeueNode(this.#engine, nodeId, { force, actor: principal.userId ?? "admin" });
  }

  async events(principal: Principal, query: { afterSeq?: number; limit?: number; nodeId?: string }) {
    this.#admin(principal);
    const events = await requireNodes(this.#engine).listEvents(query);
    return { events: events.map((e): NodeEventJson => ({ ...e, at: e.at.toISOString() })) };
  }
}
