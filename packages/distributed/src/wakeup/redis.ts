import { Redis } from "ioredis";
import {
  backoff,
  decodeMessage,
  encodeMessage,
  type WakeupHandlers,
  type WakeupMessage,
  type WakeupTransport,
} from "./transport.js";

export interface RedisTransportOptions {
  /** `redis://host:port/db` */
  url: string;
  /** Pub/sub channel shared by the deployment's nodes (default `apflow:wakeups`). */
  channel?: string;
}

/** Redis pub/sub: one subscribing and one publishing connection per node (ioredis reconnects). */
export class RedisTransport implements WakeupTransport {
  readonly name = "redis";
  readonly signalsWrites = false;
  private readonly channel: string;
  private sub: Redis | null = null;
  private pub: Redis | null = null;

  constructor(private readonly options: RedisTransportOptions) {
    this.channel = options.channel ?? "apflow:wakeups";
  }

  async start(handlers: WakeupHandlers): Promise<void> {
    const common = { lazyConnect: true, retryStrategy: (times: number) => backoff(times), enableOfflineQueue: false };
    const sub = new Redis(this.options.url, { ...common, maxRetriesPerRequest: null, enableOfflineQueue: true });
    const pub = new Redis(this.options.url, { ...common, maxRetriesPerRequest: 1 });
    this.sub = sub;
    this.pub = pub;
    // ioredis resubscribes after a reconnect; `ready` follows the resubscription.
    let up = false;
    sub.on("ready", () => {
      if (!up) handlers.state("up");
      up = true;
    });
    const down = (err?: unknown): void => {
      if (up) handlers.state("down", err ?? new Error("Redis connection closed"));
      up = false;
    };
    sub.on("error", down);
    sub.on("close", () => down());
    pub.on("error", () => undefined);
    sub.on("message", (channel: string, text: string) => {
      if (channel !== this.channel) return;
      const m = decodeMessage(text);
      if (m) handlers.message(m);
    });
    pub.connect().catch(() => undefined);
    // Issued at once: while the server is unreachable it waits in the offline queue and is sent
    // when the connection is first made; ioredis resubscribes after later reconnects.
    const subscribed = sub.subscribe(this.channel);
    subscribed.catch(() => undefined);
    const failed = new Promise<never>((_, reject) => sub.once("error", reject));
    failed.catch(() => undefined);
    try {
      await Promise.race([subscribed, failed]);
    } catch (err) {
      // ioredis keeps retrying by itself; `ready` reports when it is back.
      handlers.state("down", err);
      throw err;
    }
    if (!up) handlers.state("up");
    up = true;
  }

  async publish(message: WakeupMessage): Promise<void> {
    try {
      await this.pub?.publish(this.channel, encodeMessage(message));
    } catch {
      // Down: the receivers poll meanwhile.
    }
  }

  async close(): Promise<void> {
    const all = [this.sub, this.pub];
    this.sub = this.pub = null;
    for (const r of all) r?.disconnect();
  }
}
