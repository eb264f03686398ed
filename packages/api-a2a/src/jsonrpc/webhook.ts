import { createHmac } from "node:crypto";
import type { Logger, TaskEvent } from "@aipartnerupflow/core";
import type { WebhookOptions } from "../types.js";
import { type OutboundGuard, OutboundRefused, isForbiddenHeader } from "./outbound.js";

export interface WebhookTarget {
  url: string;
  headers?: Record<string, string>;
}

/** The header carrying `sha256=<hex HMAC of the body>` when a webhook secret is configured. */
export const SIGNATURE_HEADER = "x-apflow-signature";

/** `sha256=<hex>` over the exact body bytes; receivers recompute it to authenticate deliveries. */
export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`;
}

/**
 * Delivers an execution's events to a URL, one POST per event, in order, each retried with
 * exponential backoff on a network error, a timeout or a 5xx/429 answer. A 4xx answer drops
 * the event (the receiver refused it). Never throws: failures are logged.
 */
export class WebhookDispatcher {
  private readonly maxAttempts: number;
  private readonly retryDelayMs: number;
  private readonly timeoutMs: number;
  private readonly inflight = new Set<Promise<void>>();
  private readonly controllers = new Set<AbortController>();
  private closed = false;

  constructor(
    private readonly options: WebhookOptions,
    private readonly log: Logger,
    private readonly outbound: OutboundGuard,
  ) {
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 5);
    this.retryDelayMs = Math.max(0, options.retryDelayMs ?? 200);
    this.timeoutMs = Math.max(1, options.timeoutMs ?? 10_000);
  }

  /** Why a webhook URL is refused (`undefined` when it is acceptable); checked before a delivery starts. */
  problem(url: string): Promise<string | undefined> {
    return this.outbound.problem(url);
  }

  /**
   * Start delivering in the background the events `open(signal)` yields; `close()` aborts the
   * signal (which must end the events, as `handle.events({ signal })` does).
   */
  deliver(target: WebhookTarget, open: (signal: AbortSignal) => AsyncIterable<TaskEvent>): void {
    const controller = new AbortController();
    if (this.closed) controller.abort();
    const { signal } = controller;
    const run = (async () => {
      if (signal.aborted) return;
      for await (const event of open(signal)) {
        if (signal.aborted) break;
        await this.post(target, event, signal);
      }
    })().catch((err: unknown) => {
      if (signal.aborted) return;
      this.log.error({ err: String(err), url: redactUrl(target.url) }, "webhook stream failed");
    });
    this.controllers.add(controller);
    this.inflight.add(run);
    void run.finally(() => {
      this.inflight.delete(run);
      this.controllers.delete(controller);
    });
  }

  /** Resolves when every delivery started so far has finished (its tree finished; for tests). */
  async drain(): Promise<void> {
    while (this.inflight.size > 0) await Promise.allSettled([...this.inflight]);
  }

  /**
   * Stop every delivery (also those whose tree has not finished) and resolve once they stopped;
   * later deliveries do not start. For shutdown, after the engine stopped.
   */
  async close(): Promise<void> {
    this.closed = true;
    for (const controller of this.controllers) controller.abort();
    await this.drain();
  }

  private async post(target: WebhookTarget, event: TaskEvent, signal: AbortSignal): Promise<void> {
    const body = JSON.stringify({ event });
    const extra = Object.entries(target.headers ?? {}).filter(([name]) => !isForbiddenHeader(name));
    const headers: Record<string, string> = {
      ...Object.fromEntries(extra),
      "content-type": "application/json",
      "x-apflow-event": event.type,
      "x-apflow-delivery": `${event.seq}`,
    };
    if (this.options.secret) headers[SIGNATURE_HEADER] = signBody(this.options.secret, body);
    for (let attempt = 1; attempt <= this.maxAttempts; attempt++) {
      try {
        const res = await this.outbound.post(target.url, { headers, body, timeoutMs: this.timeoutMs, signal });
        if (res.status >= 200 && res.status < 300) return;
        if (res.status < 500 && res.status !== 429) {
          this.log.warn({ url: redactUrl(target.url), status: res.status, seq: event.seq }, "webhook refused");
          return;
        }
      } catch (err) {
        // An internal destination (checked after resolving the name) ends the delivery.
        if (err instanceof OutboundRefused || signal.aborted) throw err;
        // network error or timeout: retried below
      }
      if (attempt < this.maxAttempts) await sleep(this.retryDelayMs * 2 ** (attempt - 1), signal);
      if (signal.aborted) return;
    }
    this.log.warn({ url: redactUrl(target.url), seq: event.seq }, "webhook delivery gave up");
  }
}

/** Resolves after `ms`, or at once when `signal` aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done);
  });
}

/** Log a URL without its query string or credentials (they may hold tokens). */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return "invalid-url";
  }
}
