import {
  type Engine,
  handBackLeases,
  type Logger,
  type NodeRecord,
  type NodeStore,
  nodeState,
  type Scheduler,
  silentLogger,
} from "@aipartnerupflow/core";
import type { Election } from "./election.js";
import { pidGone } from "./pid.js";

export interface CoordinatorOptions {
  engine: Engine;
  nodes: NodeStore;
  /** This node's id (the engine's owner). */
  nodeId: string;
  election: Election;
  /** How often it tries for the role, and, holding it, sweeps the registry (default 1 s). */
  sweepMs?: number;
  /** Schedules fire only on the coordinator: a fresh scheduler each time the role is taken. */
  scheduler?: () => Scheduler;
  /** Dead nodes' records are removed this long after their last beat (default 1 h). */
  forgetDeadAfterMs?: number;
  logger?: Logger;
}

/**
 * The coordinator: one node at a time (elected by `Election`: a PostgreSQL advisory lock on a
 * shared database) marks stale and dead nodes, hands back the leases of dead nodes at once (a node
 * silent past `deadAfterMs`, or on this host with its pid gone, cannot be renewing them), runs the
 * schedule firings and records each takeover as a `coordinator.elected` event. Every node runs
 * one; the others keep trying for the role and take it over when the holder dies.
 */
export class Coordinator {
  private timer: NodeJS.Timeout | undefined;
  private ticking: Promise<void> | undefined;
  private leader = false;
  private scheduler: Scheduler | undefined;
  private readonly staleSeen = new Set<string>();
  private readonly logger: Logger;
  private stopped = false;

  constructor(private readonly o: CoordinatorOptions) {
    this.logger = (o.logger ?? silentLogger).child({ component: "coordinator" });
  }

  get isLeader(): boolean {
    return this.leader;
  }

  get sweepMs(): number {
    return this.o.sweepMs ?? 1000;
  }

  async start(): Promise<void> {
    this.stopped = false;
    await this.tick();
    this.timer = setInterval(() => {
      if (!this.ticking) this.ticking = this.tick().finally(() => (this.ticking = undefined));
    }, this.sweepMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.ticking;
    await this.stepDown();
    await this.o.election.release();
  }

  /** One round: take the role if free, check it is still held, sweep. */
  async tick(): Promise<void> {
    try {
      if (!this.leader) {
        if (this.stopped) return;
        if (!(await this.o.election.tryAcquire())) {
          await this.evictDeadHolder();
          return;
        }
        await this.takeOver();
      } else if (!(await this.o.election.holds())) {
        this.logger.warn("lost the coordinator role");
        await this.stepDown();
        return;
      }
      await this.sweep();
    } catch (err) {
      this.logger.error({ err }, "coordinator round failed");
    }
  }

  /**
   * The role is held, but by a node the registry finds dead (silent past `deadAfterMs`, or its pid
   * gone): a stalled coordinator whose database session lives on. End its session so that the
   * role (and the dead nodes' hand-back) moves on; it steps down when it wakes up.
   */
  private async evictDeadHolder(): Promise<void> {
    const { nodes, engine, election } = this.o;
    if (!election.evict) return;
    const [last] = await nodes.listEvents({ type: "coordinator.elected", newestFirst: true, limit: 1 });
    if (!last || last.nodeId === this.o.nodeId) return;
    const holder = await nodes.get(last.nodeId);
    if (!holder) return;
    if (!pidGone(holder.host, holder.pid) && nodeState(holder, engine.clock()) !== "dead") return;
    if (await election.evict()) this.logger.warn({ holder: last.nodeId }, "evicted a dead coordinator's session");
  }

  private async takeOver(): Promise<void> {
    const { nodes, engine, nodeId } = this.o;
    const [previous] = await nodes.listEvents({ type: "coordinator.elected", newestFirst: true, limit: 1 });
    this.leader = true;
    await nodes.appendEvent({
      type: "coordinator.elected",
      nodeId,
      at: engine.clock(),
      detail: { previous: previous?.nodeId ?? null, election: this.o.election.kind },
    });
    this.logger.info({ previous: previous?.nodeId ?? null }, "coordinator: this node took the role");
    if (this.o.scheduler) {
      this.scheduler = this.o.scheduler();
      await this.scheduler.start();
    }
  }

  private async stepDown(): Promise<void> {
    this.leader = false;
    const scheduler = this.scheduler;
    this.scheduler = undefined;
    await scheduler?.stop();
  }

  /** Mark stale nodes, hand back dead nodes' leases, forget long-dead records. */
  async sweep(): Promise<void> {
    const { nodes, engine, nodeId } = this.o;
    const now = engine.clock();
    for (const node of await nodes.list()) {
      if (node.nodeId === nodeId) continue;
      const gone = pidGone(node.host, node.pid);
      const state = gone ? "dead" : nodeState(node, now);
      if (state === "stale") {
        if (!this.staleSeen.has(node.nodeId)) {
          this.staleSeen.add(node.nodeId);
          await nodes.appendEvent({ type: "node.stale", nodeId: node.nodeId, at: now, detail: beatDetail(node) });
        }
        continue;
      }
      if (state !== "dead") {
        this.staleSeen.delete(node.nodeId);
        continue;
      }
      this.staleSeen.delete(node.nodeId);
      if (node.handedBackAt === null) await this.handBack(node, gone ? "pid gone" : "no heartbeat");
      else if (now.getTime() - node.heartbeatAt.getTime() > (this.o.forgetDeadAfterMs ?? 3_600_000)) {
        await nodes.deregister(node.nodeId);
      }
    }
  }

  private async handBack(node: NodeRecord, reason: string): Promise<void> {
    const { nodes, engine, nodeId } = this.o;
    const now = engine.clock();
    await nodes.appendEvent({
      type: "node.dead",
      nodeId: node.nodeId,
      at: now,
      detail: { ...beatDetail(node), reason, by: nodeId },
    });
    const { tasks } = await handBackLeases(engine, node.nodeId, { actor: nodeId, reason });
    this.logger.warn({ node: node.nodeId, reason, tasks: tasks.length }, "dead node: its leases handed back");
  }
}

const beatDetail = (node: NodeRecord) => ({
  lastHeartbeatAt: node.heartbeatAt.toISOString(),
  heartbeatMs: node.heartbeatMs,
  deadAfterMs: node.deadAfterMs,
});
