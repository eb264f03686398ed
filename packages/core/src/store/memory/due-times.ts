import { Heap } from "../../util/heap.js";
import type { Row } from "./row.js";

interface Entry {
  row: Row;
  ms: number;
}

/**
 * MemoryStore's answer to `nextDueAt`: a heap of queued rows by the time they become due, noted
 * whenever a row is queued (or its `runAt`, or its root's, changes) with a time in the future.
 * Entries are checked when read: a row that was claimed, is no longer queued or whose due time
 * moved since is dropped (a moved one was noted again), and so is one due by then: the store's
 * callers share one clock, whose `now` does not go back. The claim never reads it.
 */
export class DueTimes {
  private readonly heap = new Heap<Entry>((a, b) => a.ms < b.ms);

  constructor(
    /** When the row becomes due now, or null when it is not queued (claimed, finished, held back). */
    private readonly dueMs: (row: Row) => number | null,
  ) {}

  note(row: Row, nowMs: number): void {
    const ms = this.dueMs(row);
    if (ms !== null && ms > nowMs) this.heap.push({ row, ms });
  }

  /** `note` for a queued row known to be due at `ms`. */
  noteDue(row: Row, ms: number, nowMs: number): void {
    if (ms > nowMs) this.heap.push({ row, ms });
  }

  /** The earliest due time after `nowMs` of a queued row, or null. */
  next(nowMs: number): number | null {
    for (;;) {
      const top = this.heap.peek();
      if (!top) return null;
      if (top.ms > nowMs && this.dueMs(top.row) === top.ms) return top.ms;
      this.heap.pop();
    }
  }
}
