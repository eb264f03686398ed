import {
  type EventBus,
  type EventListener,
  LocalEventBus,
  type Logger,
  type TaskEvent,
  type TaskStore,
} from "@aipartnerupflow/core";

const PAGE = 500;
const KEEP = 20_000;

/**
 * The event bus of a node that also carries other nodes' events. Pass it to the engine as `bus`.
 *
 * Until the events fan-out attaches it to the store, it delivers what the engine publishes (each
 * `seq` once). Attached, `subscribe` listeners get every node's events in `seq` order, each
 * once: the store's `seq` is commit order, so a node holds a cursor (every seq up to it was
 * delivered) and delivers its engine's events at once when they follow the cursor without a gap,
 * and otherwise (another node committed in between) reads the store after the cursor, which
 * returns them with the other nodes' events before them. A stream resuming after the last seq it
 * saw therefore never skips one.
 */
export class NodeEventBus implements EventBus {
  private readonly all = new LocalEventBus();
  private readonly local = new LocalEventBus();
  /** Not attached: recently delivered sequence numbers, oldest first. */
  private readonly delivered = new Set<number>();
  private store: Pick<TaskStore, "readEvents"> | null = null;
  private logger: Logger | null = null;
  /** Attached: every seq up to this one was delivered to `subscribe` listeners. */
  private cursor = 0;
  private reading: Promise<void> | null = null;
  private again = false;

  publish(events: readonly TaskEvent[]): void {
    // The engine publishes each of its events once: local listeners get them all, in its order.
    this.local.publish(events);
    if (!this.store) {
      const fresh = this.fresh(events);
      if (fresh.length > 0) this.all.publish(fresh);
      return;
    }
    if (this.reading) {
      // The read in flight may predate this commit: one more read after it delivers these.
      this.again = true;
      return;
    }
    const after = events.filter((e) => e.seq > this.cursor).sort((a, b) => a.seq - b.seq);
    if (after.length === 0) return;
    if (after.every((e, i) => e.seq === this.cursor + 1 + i)) {
      this.cursor = (after[after.length - 1] as TaskEvent).seq;
      this.all.publish(after);
    } else {
      void this.catchUp();
    }
  }

  /**
   * Deliver in order what the store holds after the cursor (another node appended events, or
   * this node's events came with a gap). Coalesced: one read in flight, at most one more after it.
   */
  catchUp(): Promise<void> {
    if (!this.store) return Promise.resolve();
    this.again = true;
    this.reading ??= this.drain();
    return this.reading;
  }

  /** Deliver every node's events from the store, after `cursor` (the fan-out does this). */
  attach(store: Pick<TaskStore, "readEvents">, cursor: number, logger: Logger): void {
    this.store = store;
    this.logger = logger;
    let highest = cursor;
    for (const seq of this.delivered) highest = Math.max(highest, seq);
    this.cursor = highest;
    this.delivered.clear();
  }

  /** Back to this engine's events only (the fan-out stopped). */
  detach(): void {
    this.store = null;
  }

  /** The last seq delivered in order (attached), for diagnostics. */
  get lastSeq(): number {
    return this.cursor;
  }

  /** Every node's events once attached (streams: SSE, A2A, MCP progress, `tasks watch`, `engine.wait`). */
  subscribe(listener: EventListener): () => void {
    return this.all.subscribe(listener);
  }

  /**
   * Only the events of this node's own writes, as its engine publishes them (per-node counters,
   * such as metrics, that would count every node's work on every node otherwise).
   */
  subscribeLocal(listener: EventListener): () => void {
    return this.local.subscribe(listener);
  }

  get listenerCount(): number {
    return this.all.listenerCount;
  }

  private async drain(): Promise<void> {
    try {
      // `again` is checked, and `reading` cleared, in the same turn: a publish after the last
      // check finds no read in flight and delivers by itself.
      while (this.again && this.store) {
        this.again = false;
        const store = this.store;
        for (;;) {
          const page = await store.readEvents({ afterSeq: this.cursor, limit: PAGE });
          const after = page.filter((e) => e.seq > this.cursor);
          const last = after[after.length - 1];
          if (last) {
            this.cursor = last.seq;
            this.all.publish(after);
          }
          if (page.length < PAGE) break;
        }
      }
    } catch (err) {
      this.logger?.warn({ err }, "cannot read the store's events; retrying at the next wake-up");
    } finally {
      this.reading = null;
    }
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
