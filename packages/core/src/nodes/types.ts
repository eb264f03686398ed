import type { JsonObject } from "../types.js";

/**
 * The node registry: a store facet beside `TaskStore` (`store.nodes`). Every process running an
 * engine on a shared store registers itself, heartbeats, and deregisters on shutdown; its
 * `nodeId` is the engine's `owner`, the name leases and attempt records carry
 * (docs/architecture.md#nodes-coordinator-and-wake-ups).
 */
export interface NodeRegistration {
  /** The engine's owner (default `host:pid:random`): 1..200 characters. */
  nodeId: string;
  host: string;
  pid: number;
  /** The software version the node runs. */
  version: string;
  /** Executor ids the node can run (what its claim is restricted to). */
  executors: string[];
  tags: string[];
  /** CPU cores of its machine. */
  cpu: number;
  /** Memory of its machine, in bytes. */
  memory: number;
  /** Tasks it runs at once; 0 for a producer-only node (claims nothing). */
  concurrency: number;
  /** How often it heartbeats (stale after 3 missed beats). */
  heartbeatMs: number;
  /** How long without a heartbeat before it counts as dead (its leases are handed back). */
  deadAfterMs: number;
}

/**
 * How a node learns of new work (docs/architecture.md#wake-ups): its wake-up transport's name
 * (`postgres`, `redis`, `nats`, `amqp`; `polling` for the polling transport or none, which find
 * other processes' work at their poll and are always connected) and whether it is connected.
 * `connected: false`: the transport is down (server stopped, connection lost) and the node polls
 * until it is back. `since`: when `connected` last changed (or the node started).
 */
export interface NodeWakeups {
  transport: string;
  connected: boolean;
  since: Date;
}

/** What a heartbeat reports. */
export interface NodeBeat {
  /** Tasks running now. */
  running: number;
  /** The machine's 1-minute load average per core. */
  load: number;
  /** Its wake-up status; omitted: the stored one is kept. */
  wakeups?: NodeWakeups;
}

export interface NodeRecord extends NodeRegistration, Omit<NodeBeat, "wakeups"> {
  /** Its wake-up status as of its last heartbeat; null until it has reported one. */
  wakeups: NodeWakeups | null;
  startedAt: Date;
  heartbeatAt: Date;
  /** Asked to stop claiming (`nodes.drain`); it finishes what it runs. */
  draining: boolean;
  /** When the coordinator handed back the leases of this node (dead); cleared by a heartbeat. */
  handedBackAt: Date | null;
}

export const NODE_STATES = ["active", "idle", "overloaded", "draining", "stale", "dead"] as const;
export type NodeState = (typeof NODE_STATES)[number];

/** A node record with its state derived at `now`. */
export interface NodeView extends NodeRecord {
  state: NodeState;
}

/** Node registry and coordinator events (`node.dead`, `coordinator.elected`, ...). */
export const NODE_EVENT_TYPES = [
  "node.registered",
  "node.deregistered",
  "node.drain",
  "node.stale",
  "node.dead",
  "node.leases_handed_back",
  "node.late_write_refused",
  "coordinator.elected",
] as const;
export type NodeEventType = (typeof NODE_EVENT_TYPES)[number];

export interface NodeEvent {
  seq: number;
  type: NodeEventType;
  nodeId: string;
  at: Date;
  detail: JsonObject;
}

export type NewNodeEvent = Omit<NodeEvent, "seq">;

export interface NodeEventQuery {
  afterSeq?: number;
  type?: NodeEventType;
  nodeId?: string;
  /** Default 100. */
  limit?: number;
  /** Newest first (default oldest first). */
  newestFirst?: boolean;
}

export interface NodeStore {
  /** Insert or replace the node's record (a restart with the same id starts afresh). */
  register(node: NodeRegistration, now: Date): Promise<NodeRecord>;
  /**
   * Record a beat; returns the record (its `draining` flag tells the node to stop claiming), or
   * null when the node is not registered (it was removed: register again).
   */
  heartbeat(nodeId: string, beat: NodeBeat, now: Date): Promise<NodeRecord | null>;
  /** Remove the node's record; false when there was none. */
  deregister(nodeId: string): Promise<boolean>;
  get(nodeId: string): Promise<NodeRecord | null>;
  /** Every registered node, by `startedAt` then id. */
  list(): Promise<NodeRecord[]>;
  /** Set or clear the drain flag; null when there is no such node. */
  drain(nodeId: string, draining: boolean): Promise<NodeRecord | null>;
  /** Note that the leases of a (dead) node were handed back; false when the node is unknown. */
  markHandedBack(nodeId: string, now: Date): Promise<boolean>;
  /**
   * Hand back the leases held by `owner` at once: every running task whose lease it holds gets
   * its lease expired at `now`, so that the next `reclaimExpired` applies the reclaim rules
   * (retry or `LEASE_EXPIRED`, cancellation) exactly as for a lease that ran out. Returns the
   * task ids. Tokens are kept: a late write of the old owner is still fenced after the reclaim.
   */
  expireLeases(owner: string, now: Date): Promise<string[]>;
  appendEvent(event: NewNodeEvent): Promise<NodeEvent>;
  /** Events in `seq` order (after `afterSeq`), or newest first. */
  listEvents(query?: NodeEventQuery): Promise<NodeEvent[]>;
}

/** The store's node registry, or null when it has none. */
export function nodesOf(store: { nodes?: NodeStore }): NodeStore | null {
  return store.nodes ?? null;
}
