import type { Logger } from "../logger.js";

export interface WakeTimerOptions {
  clock: () => Date;
  /** Beyond this the poll wakes the engine anyway: no timer is armed for a later time. */
  pollIntervalMs: number;
  /** The store's next due time (`TaskStore.nextDueAt`); null when the store cannot tell. */
  nextDue: ((now: Date) => Promise<Date | null>) | null;
  /** Claim now (the claim loop's pump). */
  wake(): void;
  logger: Logger;
}

/**
 * The least time between two reads of the store's next due time: on a store with a large ready
 * set the read costs tens of milliseconds, and executions starting one after the other would
 * otherwise ask after each one. A read asked for sooner happens at the end of the gap.
 */
export const DUE_READ_GAP_MS = 200;

/**
 * Wakes the claim loop when the next queued task becomes due (a `runAt`, a retry's backoff)
 * instead of at the next poll, so that a 400 ms backoff takes ~400 ms. One timer, armed for the
 * earliest time it heard of: a `task.retrying` event's `retryAt` (`at`), or the store's
 * `nextDueAt`, read after a claim that came back short — but only once something may have queued
 * timed work since the last read (`invalidate`: an execution started, a poll, a wake-up), so a
 * busy engine does not add a read to every claim, and at most every `DUE_READ_GAP_MS`.
 */
export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private stale = true;
  private reading = false;
  private stopped = true;
  private lastReadMs = Number.NEGATIVE_INFINITY;
  private deferred: NodeJS.Timeout | undefined;

  constructor(private readonly o: WakeTimerOptions) {}

  /** Something may have queued work that waits for a time: read the store after the next short claim. */
  invalidate(): void {
    this.stale = true;
  }

  /** A claim took fewer tasks than it asked for: what is left may wait for a time. */
  shortClaim(): void {
    if (!this.stale || this.reading || this.deferred || this.stopped || this.o.nextDue === null) return;
    const wait = this.lastReadMs + DUE_READ_GAP_MS - Date.now();
    if (wait > 0) {
      // Claim again then (what became due meanwhile is taken); a short claim reads.
      this.deferred = setTimeout(() => {
        this.deferred = undefined;
        this.o.wake();
      }, wait);
      this.deferred.unref();
      return;
    }
    this.read(this.o.nextDue);
  }

  private read(nextDue: (now: Date) => Promise<Date | null>): void {
    this.stale = false;
    this.reading = true;
    this.lastReadMs = Date.now();
    nextDue(this.o.clock()).then(
      (due) => {
        this.reading = false;
        if (due) this.at(due.getTime());
        // Invalidated while it read (another execution started): what it read may miss that.
        if (this.stale) this.shortClaim();
      },
      (err: unknown) => {
        this.reading = false;
        this.o.logger.warn({ err }, "cannot read the next due time; waiting for the poll");
      },
    );
  }

  /** Work becomes due at `ms` (epoch ms): wake then, unless a timer is armed for no later. */
  at(ms: number): void {
    if (this.stopped || !Number.isFinite(ms) || ms >= this.armedFor) return;
    const delay = Math.max(0, ms - this.o.clock().getTime());
    if (delay >= this.o.pollIntervalMs) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = ms;
    this.timer = setTimeout(() => this.fire(), delay);
    this.timer.unref();
  }

  start(): void {
    this.stopped = false;
    this.stale = true;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.deferred) clearTimeout(this.deferred);
    this.timer = undefined;
    this.deferred = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
  }

  private fire(): void {
    this.timer = undefined;
    this.armedFor = Number.POSITIVE_INFINITY;
    // What is due now is claimed; the claim that comes back short reads the next due time.
    this.stale = true;
    this.o.wake();
  }
}
