import type {
  NewNodeEvent,
  NodeBeat,
  NodeEvent,
  NodeEventQuery,
  NodeRecord,
  NodeRegistration,
  NodeStore,
} from "./types.js";
import { checkRegistration } from "./state.js";
import { holdsPlaced } from "../store/rules.js";

const copy = (r: NodeRecord): NodeRecord => structuredClone(r);

/**
 * `NodeStore` in process memory: `MemoryStore.nodes`. `expireLeases` is the store's own (it
 * touches its leases), handed in by the store.
 */
export class MemoryNodeStore implements NodeStore {
  private readonly nodes = new Map<string, NodeRecord>();
  private readonly events: NodeEvent[] = [];

  constructor(private readonly expire: (owner: string, now: Date) => string[]) {}

  async register(node: NodeRegistration, now: Date): Promise<NodeRecord> {
    checkRegistration(node);
    const record: NodeRecord = {
      ...structuredClone(node),
      running: 0,
      load: 0,
      startedAt: new Date(now),
      heartbeatAt: new Date(now),
      draining: false,
      handedBackAt: null,
      wakeups: null,
    };
    this.nodes.set(node.nodeId, record);
    return copy(record);
  }

  async heartbeat(nodeId: string, beat: NodeBeat, now: Date): Promise<NodeRecord | null> {
    const r = this.nodes.get(nodeId);
    if (!r) return null;
    r.running = beat.running;
    r.load = beat.load;
    if (beat.wakeups) r.wakeups = { ...beat.wakeups, since: new Date(beat.wakeups.since) };
    r.heartbeatAt = new Date(now);
    r.handedBackAt = null;
    return copy(r);
  }

  async deregister(nodeId: string): Promise<boolean> {
    return this.nodes.delete(nodeId);
  }

  async get(nodeId: string): Promise<NodeRecord | null> {
    const r = this.nodes.get(nodeId);
    return r ? copy(r) : null;
  }

  async list(): Promise<NodeRecord[]> {
    return [...this.nodes.values()]
      .sort((a, b) => a.startedAt.getTime() - b.startedAt.getTime() || (a.nodeId < b.nodeId ? -1 : 1))
      .map(copy);
  }

  async drain(nodeId: string, draining: boolean): Promise<NodeRecord | null> {
    const r = this.nodes.get(nodeId);
    if (!r) return null;
    r.draining = draining;
    return copy(r);
  }

  async markHandedBack(nodeId: string, now: Date): Promise<boolean> {
    const r = this.nodes.get(nodeId);
    if (!r) return false;
    r.handedBackAt = new Date(now);
    return true;
  }

  /** Whether `nodeId` holds the tasks placed on it at `nowMs` (the claim's placement rule, store/rules.ts). */
  holds(nodeId: string, nowMs: number): boolean {
    const r = this.nodes.get(nodeId);
    return r !== undefined && holdsPlaced(r, nowMs);
  }

  async expireLeases(owner: string, now: Date): Promise<string[]> {
    return this.expire(owner, now);
  }

  async appendEvent(event: NewNodeEvent): Promise<NodeEvent> {
    const stored: NodeEvent = { ...structuredClone(event), seq: this.events.length + 1 };
    this.events.push(stored);
    return structuredClone(stored);
  }

  async listEvents(query: NodeEventQuery = {}): Promise<NodeEvent[]> {
    const after = query.afterSeq ?? 0;
    const ordered = query.newestFirst ? [...this.events].reverse() : this.events;
    return ordered
      .filter(
        (e) =>
          e.seq > after &&
          (query.type === undefined || e.type === query.type) &&
          (query.nodeId === undefined || e.nodeId === query.nodeId),
      )
      .slice(0, query.limit ?? 100)
      .map((e) => structuredClone(e));
  }
}
