import type { WakeupHandlers, WakeupMessage, WakeupTransport } from "./transport.js";

/**
 * No server: every `intervalMs` the node claims and reads the events it has not seen, as if
 * woken. The fallback when no transport is configured (and what a node does while its transport
 * is down).
 */
export class PollingTransport implements WakeupTransport {
  readonly name = "polling";
  readonly signalsWrites = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly intervalMs = 1000) {}

  async start(handlers: WakeupHandlers): Promise<void> {
    handlers.state("up");
    this.timer = setInterval(() => handlers.message({ work: true, events: true }), this.intervalMs);
    this.timer.unref();
  }

  async publish(_message: WakeupMessage): Promise<void> {}

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }
}
