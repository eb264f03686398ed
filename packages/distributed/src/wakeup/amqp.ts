import amqp from "amqplib";
import {
  backoff,
  decodeMessage,
  encodeMessage,
  type WakeupHandlers,
  type WakeupMessage,
  type WakeupTransport,
} from "./transport.js";

export interface AmqpTransportOptions {
  /** `amqp://user:password@host:port/vhost` */
  url: string;
  /** Fanout exchange shared by the deployment's nodes (default `apflow.wakeups`). */
  exchange?: string;
}

/**
 * RabbitMQ (AMQP 0-9-1): a non-durable fanout exchange, and per node an exclusive, auto-deleted
 * queue bound to it, consumed without acknowledgements (a wake-up is worth nothing once late).
 */
export class AmqpTransport implements WakeupTransport {
  readonly name = "amqp";
  readonly signalsWrites = false;
  private readonly exchange: string;
  private model: amqp.ChannelModel | null = null;
  private channel: amqp.Channel | null = null;
  private handlers: WakeupHandlers | null = null;
  private closed = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly options: AmqpTransportOptions) {
    this.exchange = options.exchange ?? "apflow.wakeups";
  }

  async start(handlers: WakeupHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connect();
  }

  private async connect(): Promise<void> {
    let model: amqp.ChannelModel | undefined;
    let lost = false;
    const onLost = (err?: unknown): void => {
      if (lost) return;
      lost = true;
      if (this.model === model) {
        this.model = null;
        this.channel = null;
      }
      model?.close().catch(() => undefined);
      if (this.closed) return;
      this.handlers?.state("down", err ?? new Error("RabbitMQ connection closed"));
      this.scheduleReconnect();
    };
    try {
      model = await amqp.connect(this.options.url, { timeout: 5000 });
      model.on("error", onLost);
      model.on("close", (err?: Error) => onLost(err));
      const channel = await model.createChannel();
      channel.on("error", onLost);
      await channel.assertExchange(this.exchange, "fanout", { durable: false });
      const { queue } = await channel.assertQueue("", { exclusive: true, autoDelete: true, durable: false });
      await channel.bindQueue(queue, this.exchange, "");
      await channel.consume(
        queue,
        (msg) => {
          if (!msg) return;
          const m = decodeMessage(msg.content.toString("utf8"));
          if (m) this.handlers?.message(m);
        },
        { noAck: true },
      );
      if (this.closed) {
        await model.close().catch(() => undefined);
        return;
      }
      this.model = model;
      this.channel = channel;
      this.attempt = 0;
      this.handlers?.state("up");
    } catch (err) {
      onLost(err);
      throw err;
    }
  }

  private scheduleReconnect(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.attempt++;
      this.connect().catch(() => undefined);
    }, backoff(this.attempt));
    this.retry.unref();
  }

  async publish(message: WakeupMessage): Promise<void> {
    try {
      this.channel?.publish(this.exchange, "", Buffer.from(encodeMessage(message)));
    } catch {
      // Closed: the receivers poll meanwhile.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const model = this.model;
    this.model = null;
    this.channel = null;
    await model?.close().catch(() => undefined);
  }
}
