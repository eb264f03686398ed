import { cpus, hostname, loadavg, totalmem } from "node:os";
import {
  type Engine,
  type Logger,
  type NodeRecord,
  type NodeRegistration,
  type NodeStore,
  type NodeWakeups,
  type Scheduler,
  silentLogger,
} from "@aipartnerupflow/core";
import { Coordinator } from "./coordinator.js";
import { type Election, LocalElection } from "./election.js";
import { type WakeupTransportConfig, wakeupTransportFor } from "./wakeup/create.js";
import type { WakeupTransport } from "./wakeup/transport.js";
import { Wakeups } from "./wakeup/wakeups.js";

export interface NodeOptions {
  /** The engine this node runs; its `owner` is the node id (what leases and attempts name). */
  engine: Engine;
  /** The registry (default `engine.store.nodes`). */
  nodes?: NodeStore;
  /** The software version reported (default "0.0.0"). */
  version?: string;
  /**
   * Its tags: registered, and the tags its engine claims with (a task whose `placement.requires`
   * names a tag it lacks is never claimed here). Default: the engine's `claimTags`.
   */
  tags?: string[];
  /** Executor ids this node can run (default: its registry's, or none for a producer). */
  executors?: string[];
  /** How often it heartbeats (default 2 s). Stale after 3 missed beats. */
  heartbeatMs?: number;
  /** Silent this long, it counts as dead and its leases are handed back (default 5 beats, at least 10 s). */
  deadAfterMs?: number;
  /** Who coordinates (default: this process alone, `LocalElection`); `false`: never this node. */
  election?: Election | false;
  /** Coordinator sweep / election retry period (default: the heartbeat). */
  sweepMs?: number;
  /** Schedules fire on the coordinator only: how to make its scheduler. */
  scheduler?: () => Scheduler;
  /** Hold the process open while the node runs (an idle worker must not exit; default false). */
  keepAlive?: boolean;
  /**
   * Wake-ups: a transport, or what `APFLOW_WAKEUPS` says (`{ spec, databaseUrl }`: default
   * LISTEN/NOTIFY when the store is on PostgreSQL, none otherwise); `false` or omitted: none, the
   * engine finds other processes' work at its poll.
   */
  wakeups?: WakeupTransport | WakeupTransportConfig | false;
  /**
   * Deliver other nodes' events on the engine's bus (needs a `NodeEventBus`; default: whether
   * the bus is one). `false` on a node nobody streams from skips the event reads.
   */
  fanout?: boolean;
  logger?: Logger;
}

/**
 * One process on a shared store, as the node registry sees it: it registers (`{nodeId, host,
 * pid, version, executors, tags, cpu, memory, concurrency, ...}`), heartbeats every
 * `heartbeatMs` with what it runs, stops claiming while drained (`nodes.drain`), takes part in
 * the coordinator election, and on `stop()` stops claiming first, lets running tasks finish
 * within the grace period (handing back the rest), releases its leases and deregisters.
 */
export class Node {
  readonly engine: Engine;
  readonly nodes: NodeStore;
  readonly nodeId: string;
  readonly heartbeatMs: number;
  readonly deadAfterMs: number;
  readonly coordinator: Coordinator | null;
  /** The node's wake-ups (`status`, `stats`), or null when it has none. */
  readonly wakeups: Wakeups | null;
  private readonly logger: Logger;
  private timer: NodeJS.Timeout | undefined;
  private beating: Promise<unknown> | undefined;
  private drained = false;
  /** When the last heartbeat was written (engine clock, ms). */
  private lastBeatOk = 0;
  /** When `start` began (engine clock, ms). */
  private startedAt = 0;
  private state: "idle" | "running" | "stopping" | "stopped" = "idle";
  private stopping: Promise<void> | undefined;
  private stopListening: (() => void) | undefined;

  constructor(private readonly o: NodeOptions) {
    this.engine = o.engine;
    // The tags it registers are the tags it claims with (placement: `requires`).
    if (o.tags !== undefined) o.engine.setClaimTags(o.tags);
    const nodes = o.nodes ?? o.engine.store.nodes;
    if (!nodes) throw new Error("the store has no node registry (store.nodes): pass `nodes`");
    this.nodes = nodes;
    this.nodeId = o.engine.owner;
    this.heartbeatMs = o.heartbeatMs ?? 2000;
    this.deadAfterMs = o.deadAfterMs ?? Math.max(10_000, 5 * this.heartbeatMs);
    this.logger = (o.logger ?? silentLogger).child({ component: "node", nodeId: this.nodeId });
    this.coordinator =
      o.election === false
        ? null
        : new Coordinator({
            engine: o.engine,
            nodes,
            nodeId: this.nodeId,
            election: o.election ?? new LocalElection(),
            sweepMs: o.sweepMs ?? this.heartbeatMs,
            ...(o.scheduler ? { scheduler: o.scheduler } : {}),
            ...(o.logger ? { logger: o.logger } : {}),
          });
    const transport =
      o.wakeups === undefined || o.wakeups === false
        ? null
        : "start" in o.wakeups
          ? o.wakeups
          : wakeupTransportFor(o.wakeups);
    this.wakeups = transport
      ? new Wakeups(o.engine, transport, {
          ...(o.fanout !== undefined ? { fanout: o.fanout } : {}),
          ...(o.logger ? { logger: o.logger } : {}),
        })
      : null;
  }

  /** What this node registers. */
  registration(): NodeRegistration {
    const e = this.engine;
    return {
      nodeId: this.nodeId,
      host: hostname(),
      pid: process.pid,
      version: this.o.version ?? "0.0.0",
      executors: this.o.executors ?? (e.claims ? e.registry.listExecutors().map((x) => x.id) : []),
      tags: this.o.tags ?? [...e.claimTags],
      cpu: cpus().length,
      memory: totalmem(),
      concurrency: e.claims ? e.concurrency : 0,
      heartbeatMs: this.heartbeatMs,
      deadAfterMs: this.deadAfterMs,
    };
  }

  /** Register, start the engine (claiming unless it is a producer), heartbeat, join the election. */
  async start(): Promise<void> {
    if (this.state === "running") return;
    this.state = "running";
    this.startedAt = this.engine.clock().getTime();
    await this.nodes.register(this.registration(), this.engine.clock());
    this.lastBeatOk = this.engine.clock().getTime();
    await this.nodes.appendEvent({
      type: "node.registered",
      nodeId: this.nodeId,
      at: this.engine.clock(),
      detail: {
        host: hostname(),
        pid: process.pid,
        concurrency: this.registration().concurrency,
        wakeups: this.wakeups?.transport.name ?? "none",
      },
    });
    // A late write refused by the store (this node's lease was lost meanwhile) is recorded.
    this.stopListening = this.engine.onLateWriteRefused((taskId) => {
      void this.nodes
        .appendEvent({
          type: "node.late_write_refused",
          nodeId: this.nodeId,
          at: this.engine.clock(),
          detail: { taskId },
        })
        .catch((err: unknown) => this.logger.error({ err }, "cannot record a refused late write"));
    });
    await this.engine.start();
    // Never rejects for an unreachable server: the node polls until it is back.
    await this.wakeups?.start();
    // The record shows the wake-up status from the start (then with every heartbeat).
    await this.beat();
    this.timer = setInterval(() => {
      this.checkCutOff();
      if (!this.beating) this.beating = this.beat().finally(() => (this.beating = undefined));
    }, this.heartbeatMs);
    if (!this.o.keepAlive) this.timer.unref();
    await this.coordinator?.start();
    this.logger.info({ coordinator: this.coordinator?.isLeader ?? false }, "node started");
  }

  /** One heartbeat: report what runs; follow the drain flag; re-register if the record is gone. */
  async beat(): Promise<NodeRecord | null> {
    try {
      const beat = {
        running: this.engine.activeCount,
        load: (loadavg()[0] ?? 0) / Math.max(1, cpus().length),
        wakeups: this.wakeupStatus(),
      };
      let record = await this.nodes.heartbeat(this.nodeId, beat, this.engine.clock());
      if (!record && this.state === "running") {
        this.logger.warn("node record gone (removed as dead?): registering again");
        record = await this.nodes.register(this.registration(), this.engine.clock());
      }
      if (record) {
        this.lastBeatOk = this.engine.clock().getTime();
        this.follow(record.draining);
      }
      return record;
    } catch (err) {
      this.logger.error({ err }, "heartbeat failed");
      return null;
    }
  }

  /**
   * How this node learns of new work, as its heartbeat reports it: its transport and whether that
   * is connected (not connected: the node polls until it is back), or `polling` since the node
   * started when it has no transport (the engine's poll, nothing to lose).
   */
  wakeupStatus(): NodeWakeups {
    return this.wakeups?.info ?? { transport: "polling", connected: true, since: new Date(this.startedAt) };
  }

  /**
   * Without a heartbeat for nearly `deadAfterMs`, the coordinator is about to hand this node's
   * leases back (others will run its tasks): stop its executors first, writing nothing.
   */
  private checkCutOff(): void {
    const silentMs = this.engine.clock().getTime() - this.lastBeatOk;
    const margin = Math.max(this.heartbeatMs, Math.floor(this.deadAfterMs / 6));
    if (silentMs < this.deadAfterMs - margin || this.engine.activeCount === 0) return;
    const aborted = this.engine.abandonRunning();
    this.logger.error(
      { silentMs, aborted },
      "cut off from the registry: running tasks abandoned before their hand-back",
    );
  }

  private follow(draining: boolean): void {
    if (draining === this.drained || this.state !== "running") return;
    this.drained = draining;
    if (draining) {
      this.logger.info("drained: claiming stopped");
      this.engine.pauseClaiming();
    } else {
      this.logger.info("drain cleared: claiming again");
      this.engine.resumeClaiming();
    }
  }

  /**
   * Graceful shutdown: stop claiming at once, leave the election, let running tasks finish within
   * `graceMs` (the engine hands back the rest and releases every lease), then deregister.
   */
  stop(options: { graceMs?: number } = {}): Promise<void> {
    this.stopping ??= (async () => {
      this.state = "stopping";
      this.engine.pauseClaiming();
      await this.coordinator?.stop();
      // Heartbeats go on while running tasks finish: a node in its grace period is not dead.
      await this.engine.stop(options);
      // After the engine: a task finishing in the grace period still wakes its dependents elsewhere.
      await this.wakeups?.stop().catch((err: unknown) => this.logger.error({ err }, "wake-ups stop failed"));
      if (this.timer) clearInterval(this.timer);
      this.timer = undefined;
      await this.beating;
      this.stopListening?.();
      await this.nodes.deregister(this.nodeId).catch((err: unknown) => this.logger.error({ err }, "deregister failed"));
      await this.nodes
        .appendEvent({ type: "node.deregistered", nodeId: this.nodeId, at: this.engine.clock(), detail: {} })
        .catch(() => undefined);
      this.state = "stopped";
      this.logger.info("node stopped");
    })();
    return this.stopping;
  }
}
