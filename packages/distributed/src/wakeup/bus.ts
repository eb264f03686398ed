import { type EventBus, type EventListener, LocalEventBus, type TaskEvent } from "@aipartnerupflow/core";

const KEEP = 20_000;

/**
 * The event bus of a node that also carries other nodes' events: each `seq` is delivered once,
 * whether it came from this node's engine (`publish`) or from the store (`deliverRemote`, by the
 * events fan-out) — a node reading the store after a NOTIFY may see its own commit's events
 * before its engine publishes them. Pass it to the engine as `bus`.
 */
export class NodeEventBus implements EventBus {
  private readonly all = new LocalEventBus();
  private readonly local = new LocalEventBus();
  /** Recently delivered sequence numbers, oldest first (a Set keeps insertion order). */
  private readonly delivered = new Set<number>();

  publish(events: readonly TaskEvent[]): void {
    // The engine publishes each of its events once: local listeners get them all; `all` skips
    // those the fan-out already delivered from the store.
    this.local.publish(events);
    const fresh = this.fresh(events);
    if (fresh.length > 0) this.all.publish(fresh);
  }

  /** Events another node wrote (read from the store): delivered to `subscribe` listeners only. */
  deliverRemote(events: readonly TaskEvent[]): void {
    const fresh = this.fresh(events);
    if (fresh.length > 0) this.all.publish(fresh);
  }

  /** Every node's events (streams: SSE, A2A, MCP progress, `tasks watch`, `engine.wait`). */
  subscribe(listener: EventListener): () => void {
    return this.all.subscribe(listener);
  }

  /**
   * Only the events of this node's own writes (per-node counters, such as metrics, that would
   * count every node's work on every node otherwise).
   */
  subscribeLocal(listener: EventListener): () => void {
    return this.local.subscribe(listener);
  }

  get listenerCount(): number {
    return this.all.listenerCount;
  }

  private fresh(events: readonly TaskEvent[]): TaskEvent[] {
    const out: TaskEvent[] = [];
    for (const e of events) {
      if (this.delivered.has(e.seq)) continue;
      this.delivered.add(e.seq);
      out.push(e);
    }
    if (this.delivered.size > KEEP) {
      let drop = this.delivered.size - KEEP / 2;
      for (const seq of this.delivered) {
        if (drop-- <= 0) break;
        this.delivered.delete(seq);
      }
    }
    return out;
  }
}
