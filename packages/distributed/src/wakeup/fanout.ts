import type { Logger, TaskStore } from "@aipartnerupflow/core";
import type { NodeEventBus } from "./bus.js";

/**
 * Events across nodes: the store's events table is the truth, with a commit-ordered `seq`. The
 * fan-out attaches the node's bus to the store after the newest event stored at start (listeners
 * replay history themselves), and on each "events appended" wake-up has it read and deliver, in
 * order, what was appended since.
 */
export class EventFanout {
  constructor(
    private readonly store: TaskStore,
    private readonly bus: NodeEventBus,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    this.bus.attach(this.store, await latestSeq(this.store), this.logger);
  }

  stop(): void {
    this.bus.detach();
  }

  get lastSeq(): number {
    return this.bus.lastSeq;
  }

  /** Read what was appended since the last read (coalesced). */
  signal(): Promise<void> {
    return this.bus.catchUp();
  }
}

/**
 * The highest `seq` in the store, with `readEvents` alone (any store): doubling, then bisecting,
 * for the largest n after which no event exists. About 2·log2(seq) indexed one-row reads.
 */
export async function latestSeq(store: Pick<TaskStore, "readEvents">): Promise<number> {
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
