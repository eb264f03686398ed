import pg from "pg";
import {
  backoff,
  decodeMessage,
  encodeMessage,
  type WakeupHandlers,
  type WakeupMessage,
  type WakeupTransport,
} from "./transport.js";

/** The channels the `events_notify` trigger (migration 0010_wakeups) notifies on. */
export const WAKEUP_CHANNEL = "apflow_wakeup";
export const EVENTS_CHANNEL = "apflow_events";

export interface PostgresTransportOptions {
  /** The store's database (the same `DATABASE_URL`). */
  url: string;
  /**
   * `trigger`: the store's own commits notify (migration 0010), from whatever process wrote, in
   * the writing transaction, with no extra round trip. `app`: the node sends `pg_notify` after
   * its writes instead. `auto` (default): `trigger` when the database has it, `app` otherwise.
   */
  mode?: "auto" | "trigger" | "app";
}

/**
 * PostgreSQL LISTEN/NOTIFY, the default on PostgreSQL: one extra connection per node, which
 * listens on both channels. Notifications arrive only after the writing transaction committed,
 * so a woken node always finds the work.
 */
export class PostgresTransport implements WakeupTransport {
  readonly name = "postgres";
  private triggered: boolean;
  private client: pg.Client | null = null;
  private handlers: WakeupHandlers | null = null;
  private closed = false;
  private attempt = 0;
  private retry: NodeJS.Timeout | undefined;

  constructor(private readonly options: PostgresTransportOptions) {
    this.triggered = (options.mode ?? "auto") !== "app";
  }

  /** Whether the trigger notifies (known once connected in `auto` mode; assumed before). */
  get signalsWrites(): boolean {
    return this.triggered;
  }

  async start(handlers: WakeupHandlers): Promise<void> {
    this.handlers = handlers;
    await this.connect();
  }

  private async connect(): Promise<void> {
    const client = new pg.Client({
      connectionString: this.options.url,
      keepAlive: true,
      connectionTimeoutMillis: 5000,
    });
    let lost = false;
    const onLost = (err?: unknown): void => {
      if (lost) return;
      lost = true;
      if (this.client === client) this.client = null;
      client.end().catch(() => undefined);
      if (this.closed) return;
      this.handlers?.state("down", err ?? new Error("PostgreSQL connection ended"));
      this.scheduleReconnect();
    };
    client.on("error", onLost);
    client.on("end", () => onLost());
    client.on("notification", (n) => {
      if (n.channel === WAKEUP_CHANNEL) this.deliver(n.payload, { work: true, events: false });
      else if (n.channel === EVENTS_CHANNEL) this.deliver(n.payload, { work: false, events: true });
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${WAKEUP_CHANNEL}; LISTEN ${EVENTS_CHANNEL}`);
      if ((this.options.mode ?? "auto") === "auto") {
        // A database not migrated to 0010 has no trigger: the nodes notify themselves instead.
        const { rows } = await client.query<{ present: boolean }>(
          "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'events_notify' AND tgrelid = to_regclass('events')) AS present",
        );
        this.triggered = rows[0]?.present === true;
      }
    } catch (err) {
      client.removeAllListeners("end");
      onLost(err);
      throw err;
    }
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.attempt = 0;
    this.handlers?.state("up");
  }

  private deliver(payload: string | undefined, message: WakeupMessage): void {
    // The trigger's `apflow_events` payload is the newest seq appended (`apflow_wakeup`: none);
    // `app` mode sends the encoded message, which names its origin.
    if (payload && /^\d+$/.test(payload)) message.seq = Number(payload);
    else if (payload) {
      const origin = decodeMessage(payload)?.origin;
      if (origin) message.origin = origin;
    }
    this.handlers?.message(message);
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
    const client = this.client;
    if (!client) return;
    const payload = encodeMessage(message);
    try {
      if (message.work && message.events) {
        await client.query("SELECT pg_notify($1, $3), pg_notify($2, $3)", [WAKEUP_CHANNEL, EVENTS_CHANNEL, payload]);
      } else {
        await client.query("SELECT pg_notify($1, $2)", [message.work ? WAKEUP_CHANNEL : EVENTS_CHANNEL, payload]);
      }
    } catch {
      // Reported through the connection's error; the receivers poll meanwhile.
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }
}
