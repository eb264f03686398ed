import type { Logger, TaskStore } from "@aipartnerupflow/core";
import type { NodeEventBus } from "./bus.js";

const PAGE = 500;

/**
 * Events across nodes: the store's events table is the truth, with a commit-ordered `seq`. On an
 * "events appended" wake-up this reads the events after the last seq it read and delivers them on
 * the node's bus (which drops those its own engine already published). Reads are coalesced: one
 * in flight, at most one more after it.
 */
export class EventFanout {
  private cursor = 0;
  private reading: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly store: TaskStore,
    private readonly bus: NodeEventBus,
    private readonly logger: Logger,
  ) {}

  /** Start after the newest event already stored (listeners replay history themselves). */
  async start(): Promise<void> {
    this.cursor = await latestSeq(this.store);
  }

  get lastSeq(): number {
    return this.cursor;
  }

  /** Read what was appended since the last read (coalesced). */
  signal(): Promise<void> {
    if (this.reading) {
      this.again = true;
      return this.reading;
    }
    this.reading = this.drain().finally(() => {
      this.reading = null;
    });
    return this.reading;
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      try {
        for (;;) {
          const page = await this.store.readEvents({ afterSeq: this.cursor, limit: PAGE });
          const last = page[page.length - 1];
          if (last) this.cursor = Math.max(this.cursor, last.seq);
          this.bus.deliverRemote(page);
          if (page.length < PAGE) break;
        }
      } catch (err) {
        this.logger.warn({ err }, "cannot read other nodes' events; retrying at the next wake-up");
        return;
      }
    } while (this.again);
  }
}

/**
 * The highest `seq` in the store, with `readEvents` alone (any store): doubling, then bisecting,
 * for the largest n after which no event exists. About 2·log2(seq) indexed one-row reads.
 */
export async function latestSeq(store: TaskStore): Promise<number> {
  const after = async (n: number): Promise<number | null> => {
    const [e] = await store.readEvents({ afterSeq: n, limit: 1 });
    return e ? e.seq : null;
  };
  const first = await after(0);
  if (first === null) return 0;
  let low = first; // an event exists at `low`
  let high = Math.max(1, first) * 2;
  for (;;) {
    const next = await after(high);
    if (next === null) break;
    low = next;
    high = next * 2;
  }
  // An event exists at `low`, none after `high`.
  while (high - low > 1) {
    const mid = Math.floor((low + high) / 2);
    const next = await after(mid);
    if (next === null) high = mid;
    else low = next;
  }
  const last = await after(low);
  return last === null ? low : last;
}
