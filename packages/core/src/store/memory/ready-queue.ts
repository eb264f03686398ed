import { Heap } from "../../util/heap.js";
import { type Row, runAtMs } from "./row.js";

const byPriorityThenAge = (a: Row, b: Row): boolean =>
  a.task.priority !== b.task.priority ? a.task.priority < b.task.priority : a.ordinal < b.ordinal;

/**
 * MemoryStore's ready queue: queued tasks whose dependencies are resolved, in priority then FIFO
 * order (a heap), and those waiting for their `runAt` (a second heap by time). `row.queued` marks
 * a row held by either heap; a row whose readiness changed meanwhile is dropped when taken.
 */
export class ReadyQueue {
  private readonly ready = new Heap<Row>(byPriorityThenAge);
  private readonly delayed = new Heap<Row>((a, b) => this.dueAt(a) < this.dueAt(b));

  /**
   * `dueAt`: when a row may start — its own `runAt`, held back by its root's (a root's `runAt`
   * holds back its whole tree).
   */
  constructor(
    private readonly isReady: (row: Row) => boolean,
    private readonly dueAt: (row: Row) => number = runAtMs,
  ) {}

  /** Queue a row if it is ready and not queued yet: due now, or delayed until its `runAt`. */
  offer(row: Row, nowMs: number): void {
    if (row.queued || !this.isReady(row)) return;
    row.queued = true;
    if (this.dueAt(row) > nowMs) this.delayed.push(row);
    else this.ready.push(row);
  }

  /** `offer` for a row known to be ready, due at `dueMs`. */
  offerReady(row: Row, nowMs: number, dueMs: number): void {
    if (row.queued) return;
    row.queued = true;
    if (dueMs > nowMs) this.delayed.push(row);
    else this.ready.push(row);
  }

  /** The next ready, due row (taken off the queue), or undefined. */
  take(nowMs: number): Row | undefined {
    this.promote(nowMs);
    while (this.ready.size > 0) {
      const row = this.ready.pop() as Row;
      row.queued = false;
      if (!this.isReady(row)) continue;
      if (this.dueAt(row) > nowMs) {
        row.queued = true;
        this.delayed.push(row);
        continue;
      }
      return row;
    }
    return undefined;
  }

  /** Re-sort after a priority changed in place (heaps cannot re-order an entry). */
  reprioritise(): void {
    const rows: Row[] = [];
    while (this.ready.size > 0) rows.push(this.ready.pop() as Row);
    for (const row of rows) this.ready.push(row);
  }

  /** Re-queue everything after a `runAt` changed in place. */
  requeueAll(nowMs: number): void {
    const rows: Row[] = [];
    while (this.ready.size > 0) rows.push(this.ready.pop() as Row);
    while (this.delayed.size > 0) rows.push(this.delayed.pop() as Row);
    for (const row of rows) row.queued = false;
    for (const row of rows) this.offer(row, nowMs);
  }

  private promote(nowMs: number): void {
    while (this.delayed.size > 0 && this.dueAt(this.delayed.peek() as Row) <= nowMs) {
      this.ready.push(this.delayed.pop() as Row);
    }
  }
}
