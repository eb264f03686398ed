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
 * Wakes the claim loop when the next queued task becomes due (a `runAt`, a retry's backoff)
 * instead of at the next poll, so that a 400 ms backoff takes ~400 ms. One timer, armed for the
 * earliest time it heard of: a `task.retrying` event's `retryAt` (`at`), or the store's
 * `nextDueAt`, read after a claim that came back short — but only once something may have queued
 * timed work since the last read (`invalidate`: an execution started, a poll, a wake-up), so a
 * busy engine does not add a read to every claim.
 */
export class WakeTimer {
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Number.POSITIVE_INFINITY;
  private stale = true;
  private reading = false;
  private stopped = true;

  constructor(private readonly o: WakeTimerOptions) {}

  /** Something may have queued work that waits for a time: read the store after the next short claim. */
  invalidate(): void {
    this.stale = true;
  }

  /** A claim took fewer tasks than it asked for: what is left may wait for a time. */
  shortClaim(): void {
    if (!this.stale || this.reading || this.stopped || this.o.nextDue === null) return;
    this.stale = false;
    this.reading = true;
    this.o.nextDue(this.o.clock()).then(
      (due) => {
        this.reading = false;
        if (due) this.at(due.getTime());
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
    this.timer = undefined;
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
