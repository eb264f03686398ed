import type { ExecutorContext } from "@aipartnerupflow/core";

/**
 * Streams text deltas to `ctx.reportProgress(p, message)`, rate-limited: deltas are buffered and
 * sent as one message at most every `intervalMs` (0 sends every delta). The concatenation of all
 * messages is exactly the streamed text. `p` grows with the text and stays below 1 (the engine
 * sets 1 on completion); an explicit `p` can be passed at step boundaries.
 */
export class ProgressStream {
  private buffer = "";
  private lastSent = 0;
  private chars = 0;
  private progress = 0;
  private pending: Promise<void> = Promise.resolve();

  constructor(
    private readonly ctx: Pick<ExecutorContext, "reportProgress">,
    private readonly intervalMs: number,
  ) {}

  /** Add a delta; sends when the interval has elapsed since the last message. */
  push(delta: string): void {
    if (!delta) return;
    this.buffer += delta;
    this.chars += delta.length;
    if (this.intervalMs <= 0 || Date.now() - this.lastSent >= this.intervalMs) this.flush();
  }

  /** Send what is buffered now (call at the end of a stream). Resolves when sent. */
  flush(progress?: number): Promise<void> {
    if (progress !== undefined) this.progress = Math.max(this.progress, Math.min(progress, 0.99));
    else this.progress = Math.max(this.progress, Math.min(0.95, this.chars / (this.chars + 2000)));
    if (!this.buffer && progress === undefined) return this.pending;
    const message = this.buffer || undefined;
    this.buffer = "";
    this.lastSent = Date.now();
    const p = this.progress;
    // Progress reporting must never fail the model call; sends are serialised to keep order.
    this.pending = this.pending.then(() => this.ctx.reportProgress(p, message)).catch(() => undefined);
    return this.pending;
  }
}
