import { connect, type NatsConnection } from "nats";
import {
  decodeMessage,
  encodeMessage,
  type WakeupHandlers,
  type WakeupMessage,
  type WakeupTransport,
} from "./transport.js";

export interface NatsTransportOptions {
  /** `nats://host:port` (several separated by commas) */
  url: string;
  /** Subject shared by the deployment's nodes (default `apflow.wakeups`). */
  subject?: string;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** NATS core pub/sub (no JetStream: a wake-up is worth nothing once late). The client reconnects. */
export class NatsTransport implements WakeupTransport {
  readonly name = "nats";
  readonly signalsWrites = false;
  private readonly subject: string;
  private nc: NatsConnection | null = null;
  private closing = false;

  constructor(private readonly options: NatsTransportOptions) {
    this.subject = options.subject ?? "apflow.wakeups";
  }

  async start(handlers: WakeupHandlers): Promise<void> {
    try {
      await this.open(handlers);
    } catch (err) {
      handlers.state("down", err);
      // The first connection is not retried by the client: retry here until it succeeds.
      const retry = (): void => {
        if (this.closing) return;
        this.open(handlers).catch(() => setTimeout(retry, 2000).unref());
      };
      setTimeout(retry, 1000).unref();
      throw err;
    }
  }

  private async open(handlers: WakeupHandlers): Promise<void> {
    const servers = this.options.url.split(",").map((s) => s.trim());
    const nc = await connect({ servers, maxReconnectAttempts: -1, reconnectTimeWait: 500, timeout: 3000 });
    if (this.closing) {
      await nc.close();
      return;
    }
    this.nc = nc;
    nc.subscribe(this.subject, {
      callback: (err, msg) => {
        if (err) return;
        const m = decodeMessage(decoder.decode(msg.data));
        if (m) handlers.message(m);
      },
    });
    await nc.flush();
    handlers.state("up");
    void (async () => {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") handlers.state("down", new Error(`NATS disconnected from ${String(s.data)}`));
        else if (s.type === "reconnect") handlers.state("up");
      }
    })().catch(() => undefined);
  }

  async publish(message: WakeupMessage): Promise<void> {
    try {
      this.nc?.publish(this.subject, encoder.encode(encodeMessage(message)));
    } catch {
      // Closed or draining: the receivers poll meanwhile.
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    const nc = this.nc;
    this.nc = null;
    await nc?.close().catch(() => undefined);
  }
}
