import {
  ApflowError,
  type Engine,
  ErrorCode,
  type EventType,
  type Logger,
  type NodeWakeups,
  type TaskEvent,
} from "@aipartnerupflow/core";
import { NodeEventBus } from "./bus.js";
import { EventFanout } from "./fanout.js";
import type { WakeupMessage, WakeupTransport } from "./transport.js";

/** Events whose write can make a task claimable (the same list as the PostgreSQL trigger's). */
export const WAKING_EVENTS: ReadonlySet<EventType> = new Set<EventType>([
  "task.created",
  "tree.started",
  "task.completed",
  "task.failed",
  "task.cancelled",
  "task.retrying",
]);

export interface WakeupsOptions {
  /**
   * Deliver other nodes' events on this node's bus (needs the engine's `bus` to be a
   * `NodeEventBus`; default: whether it is one). Costs one indexed read per wake-up.
   */
  fanout?: boolean;
  /** While the transport is down: claim and read events this often (default 1000 ms). */
  fallbackPollMs?: number;
  logger?: Logger;
}

export interface WakeupStats {
  received: number;
  published: number;
  /** Times the transport went down. */
  outages: number;
}

/**
 * Wires a transport to an engine. Receiving: `work` claims now (`engine.wake()`), `events` reads
 * the store's new events onto the node's bus. Publishing (transports whose writes do not signal
 * by themselves): this node's writes, seen on its bus, coalesced into one message per tick. A
 * transport that is down degrades to polling with a warning, and never throws into the engine.
 */
export class Wakeups {
  readonly stats: WakeupStats = { received: 0, published: 0, outages: 0 };
  private readonly logger: Logger;
  private readonly fanout: EventFanout | null;
  private readonly fallbackPollMs: number;
  private state: "idle" | "up" | "down" | "stopped" = "idle";
  /** When the state last went up or down (engine clock). */
  private changedAt: Date;
  private poll: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | null = null;
  private pending: WakeupMessage | null = null;

  constructor(
    readonly engine: Engine,
    readonly transport: WakeupTransport,
    options: WakeupsOptions = {},
  ) {
    this.logger = (options.logger ?? engine.logger).child({ component: "wakeups", transport: transport.name });
    const bus = engine.bus;
    const fanout = options.fanout ?? bus instanceof NodeEventBus;
    if (fanout && !(bus instanceof NodeEventBus)) {
      throw new ApflowError(
        ErrorCode.InvalidParams,
        "fanout: the engine's bus must be a NodeEventBus (new Engine({ bus: new NodeEventBus(), ... }))",
      );
    }
    this.fanout = fanout ? new EventFanout(engine.store, bus as NodeEventBus, this.logger) : null;
    this.changedAt = engine.clock();
    this.fallbackPollMs = options.fallbackPollMs ?? 1000;
    if (!Number.isFinite(this.fallbackPollMs) || this.fallbackPollMs <= 0) {
      throw new ApflowError(
        ErrorCode.InvalidParams,
        `fallbackPollMs must be a positive number, got ${this.fallbackPollMs}`,
      );
    }
  }

  /** Whether the transport is connected (`down`: polling every `fallbackPollMs`). */
  get status(): "idle" | "up" | "down" | "stopped" {
    return this.state;
  }

  /**
   * What the node registry shows (`NodeRecord.wakeups`, reported with each heartbeat): the
   * transport, whether it is connected now (not connected: polling every `fallbackPollMs`), and
   * since when.
   */
  get info(): NodeWakeups {
    return { transport: this.transport.name, connected: this.state === "up", since: new Date(this.changedAt) };
  }

  /** Listen (and publish). Never rejects for an unreachable server: that node polls instead. */
  async start(): Promise<void> {
    if (this.state !== "idle") return;
    this.state = "down";
    await this.fanout?.start();
    const bus = this.engine.bus;
    const onEvent = (e: TaskEvent): void => {
      // Asked per event: PostgreSQL knows whether its trigger notifies only once connected.
      if (!this.transport.signalsWrites) this.onLocalEvent(e);
    };
    // Only this node's own writes: republishing other nodes' events would echo forever.
    this.unsubscribe = bus instanceof NodeEventBus ? bus.subscribeLocal(onEvent) : bus.subscribe(onEvent);
    try {
      await this.transport.start({
        message: (m) => this.onMessage(m),
        state: (s, err) => (s === "up" ? this.onUp() : this.onDown(err)),
      });
    } catch (err) {
      this.onDown(err);
    }
  }

  async stop(): Promise<void> {
    if (this.state === "stopped") return;
    this.state = "stopped";
    this.stopPolling();
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.fanout?.stop();
    await this.transport.close();
  }

  /** The newest event seq this node has read from the store (fan-out on), for diagnostics. */
  get lastSeq(): number | null {
    return this.fanout ? this.fanout.lastSeq : null;
  }

  private onMessage(m: WakeupMessage): void {
    if (this.state === "stopped" || m.origin === this.engine.owner) return;
    this.stats.received++;
    if (m.work) this.engine.wake();
    // Events up to a seq already delivered (this node's own commit, published first): no read.
    if (m.events && this.fanout && !(m.seq !== undefined && m.seq <= this.fanout.lastSeq)) void this.fanout.signal();
  }

  private onLocalEvent(e: TaskEvent): void {
    const work = WAKING_EVENTS.has(e.type);
    if (this.pending) {
      this.pending.work ||= work;
      return;
    }
    this.pending = { work, events: true, origin: this.engine.owner };
    setImmediate(() => {
      const m = this.pending;
      this.pending = null;
      if (!m || this.state === "stopped") return;
      this.stats.published++;
      void this.transport.publish(m);
    });
  }

  private onUp(): void {
    if (this.state === "stopped" || this.state === "up") return;
    const wasDown = this.stats.outages > 0;
    this.state = "up";
    this.changedAt = this.engine.clock();
    this.stopPolling();
    if (wasDown) this.logger.info("wake-up transport is back; polling stopped");
    // Whatever was signalled while not listening is lost: look once.
    this.engine.wake();
    void this.fanout?.signal();
  }

  private onDown(err?: unknown): void {
    if (this.state === "stopped" || (this.state === "down" && this.poll)) return;
    if (this.state === "up") this.changedAt = this.engine.clock();
    this.state = "down";
    this.stats.outages++;
    this.logger.warn(
      { err },
      `wake-up transport ${this.transport.name} is unreachable; polling every ${this.fallbackPollMs} ms until it is back`,
    );
    this.stopPolling();
    this.poll = setInterval(() => {
      this.engine.wake();
      void this.fanout?.signal();
    }, this.fallbackPollMs);
    this.poll.unref();
  }

  private stopPolling(): void {
    if (this.poll) clearInterval(this.poll);
    this.poll = undefined;
  }
}

/** Attach a transport to an engine (not started: call `start()` after `engine.start()`). */
export function attachWakeups(engine: Engine, transport: WakeupTransport, options: WakeupsOptions = {}): Wakeups {
  return new Wakeups(engine, transport, options);
}
