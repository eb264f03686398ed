import type { ExecutorContext } from "@aipartnerupflow/core";

export interface ProgressLimits {
  /** Sustained rate of line events. */
  linesPerSecond: number;
  /** Lines that may be sent at once before the rate applies. */
  burst: number;
}

/**
 * Streams output lines as progress events (`reportProgress(progress, line)`), rate-limited by a
 * token bucket: a flood cannot turn into a flood of persisted events. Lines over the limit are
 * counted and announced in one `[... N lines not streamed]` message as soon as the bucket allows,
 * or at the end. Calls are chained, so events keep their order and `drain()` waits for all of them.
 */
export class ProgressStream {
  private tokens: number;
  private last: number;
  private skipped = 0;
  private chain: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(
    private readonly report: ExecutorContext["reportProgress"],
    private readonly limits: ProgressLimits,
    private readonly progress: () => number | null,
    private readonly onError: (err: unknown) => void,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.tokens = limits.burst;
    this.last = now();
  }

  /** Whether the next line may be sent (consumes a token); counts it as skipped otherwise. */
  take(): boolean {
    this.refill();
    // A pending skip notice needs a token of its own before the next line.
    const need = this.skipped > 0 ? 2 : 1;
    if (this.tokens >= need) {
      if (this.skipped > 0) this.flushSkipped();
      this.tokens -= 1;
      return true;
    }
    this.skipped++;
    return false;
  }

  /** Send a line that `take()` accepted. */
  line(text: string): void {
    this.send(text);
  }

  /** Announce lines that were not streamed, then wait for every event sent so far. */
  async drain(): Promise<void> {
    if (this.skipped > 0) this.flushSkipped();
    await this.chain;
  }

  get skippedLines(): number {
    return this.skipped;
  }

  private flushSkipped(): void {
    const n = this.skipped;
    this.skipped = 0;
    this.tokens -= 1;
    this.send(`[... ${n} line${n === 1 ? "" : "s"} not streamed]`);
  }

  private send(message: string): void {
    if (this.failed) return;
    const p = this.progress();
    this.chain = this.chain
      .then(() => this.report(p, message))
      .catch((err: unknown) => {
        // A progress sink that fails once (store gone, lease lost) is not retried for every line.
        this.failed = true;
        this.onError(err);
      });
  }

  private refill(): void {
    const t = this.now();
    const elapsed = (t - this.last) / 1000;
    this.last = t;
    this.tokens = Math.min(this.limits.burst, this.tokens + elapsed * this.limits.linesPerSecond);
  }
}
