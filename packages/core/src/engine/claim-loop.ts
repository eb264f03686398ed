import type { Logger } from "../logger.js";
import type { Registry } from "../registry/registry.js";
import { handBackOutcome } from "../store/rules.js";
import type { ClaimedTask, TaskStore } from "../store/types.js";
import type { EventBus } from "./event-bus.js";
import type { Finisher } from "./finisher.js";
import { type RunContext, type RunningTask, runClaimedTask, type TaskRun } from "./run-task.js";

export interface ClaimLoopOptions {
  store: TaskStore;
  registry: Registry;
  bus: EventBus;
  logger: Logger;
  clock: () => Date;
  owner: string;
  concurrency: number;
  /** The executors allow-list passed to every claim (`EngineOptions.claimExecutors`). */
  executors?: readonly string[];
  /**
   * Claim for freed slots only after the outcomes that freed them are written (Finisher.written):
   * a shared store then never holds a finished task unrecorded behind a claim. Off for a store in
   * this process only (`TaskStore.inProcess`), where there is no other process to find it.
   */
  claimAfterWrites: boolean;
  /** The node's tags passed to every claim (`EngineOptions.claimTags`). */
  tags?: readonly string[];
  leaseMs: number;
  demo: boolean;
  cancelGraceMs: number;
  finisher: Finisher;
  /** Per-execution secrets handed to executors (never persisted). */
  secretsFor(executionId: string): Record<string, string> | undefined;
  /** Whether the engine is running (claims stop, and claimed tasks are handed back, otherwise). */
  running(): boolean;
  /** A claim took fewer tasks than it asked for (the engine may arm a wake-up: wake-timer.ts). */
  onShortClaim?(): void;
}

/**
 * The claim loop: claim ready tasks while there are free slots (priority, then FIFO, with a
 * lease), launch each through its executor, and claim again as slots free up. Calls made while a
 * claim is in flight are coalesced into one more round.
 */
export class ClaimLoop {
  /** Tasks this engine is running, by task id. */
  readonly active = new Map<string, RunningTask>();
  /**
   * Tasks whose executor still runs (the concurrency limit counts these). A task whose executor
   * returned stays in `active` (its lease is kept) until its outcome is written.
   */
  private executing = 0;
  /** Settles when the claim in flight (if any) launched its tasks or handed them back. */
  idle: Promise<void> = Promise.resolve();
  private pumping = false;
  private pumpAgain = false;
  private pumpScheduled = false;

  /** What every run of this loop shares (one object, not one per task). */
  private readonly runContext: RunContext;

  constructor(private readonly o: ClaimLoopOptions) {
    this.runContext = {
      store: o.store,
      registry: o.registry,
      bus: o.bus,
      logger: o.logger,
      clock: o.clock,
      demo: o.demo,
      cancelGraceMs: o.cancelGraceMs,
      secretsFor: (executionId) => o.secretsFor(executionId),
      finisher: o.finisher,
      release: (run) => this.release(run),
      settled: (run) => this.settled(run),
    };
  }

  /** The node tags claims pass (`ClaimOptions.tags`). */
  get tags(): readonly string[] {
    return this.o.tags ?? [];
  }

  /** Pass these node tags from the next claim on. */
  setTags(tags: readonly string[]): void {
    this.o.tags = [...tags];
  }

  /** Claim while there are free slots; coalesces calls made while a claim is in flight. */
  pump(): void {
    if (!this.o.running()) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    this.idle = this.loop().finally(() => {
      this.pumping = false;
    });
  }

  /**
   * Pump once the current turn of the event loop is over: slots that free together (executors
   * returning in the same turn) are claimed for in one statement instead of one each.
   */
  private pumpSoon(): void {
    if (this.pumpScheduled) return;
    this.pumpScheduled = true;
    const pump = (): void => {
      this.pumpScheduled = false;
      this.pump();
    };
    // After the outcomes of the tasks that freed the slots are written (Finisher.written).
    if (this.o.claimAfterWrites) void this.o.finisher.written().then(() => setImmediate(pump));
    else setImmediate(pump);
  }

  private async loop(): Promise<void> {
    const o = this.o;
    do {
      this.pumpAgain = false;
      // Outcomes waiting for their write hold no slot, but at most one round of them more than
      // the slots: a store slower to write than to claim must not pile up claimed tasks.
      while (o.running() && this.executing < o.concurrency && this.active.size < 2 * o.concurrency) {
        const limit = Math.min(o.concurrency - this.executing, 2 * o.concurrency - this.active.size);
        let claimed: ClaimedTask[];
        const now = o.clock();
        try {
          const result = await o.store.claimReady({
            owner: o.owner,
            limit,
            leaseMs: o.leaseMs,
            now,
            ...(o.executors === undefined ? {} : { executors: o.executors }),
            ...(o.tags === undefined ? {} : { tags: o.tags }),
          });
          o.bus.publish(result.events);
          claimed = result.claimed;
        } catch (err) {
          o.logger.error({ err }, "claim failed");
          return;
        }
        if (!o.running()) {
          await this.handBack(claimed);
          return;
        }
        const claimedAt = now.getTime();
        for (const c of claimed) this.launch(c, claimedAt);
        if (claimed.length < limit) {
          o.onShortClaim?.();
          break;
        }
      }
    } while (this.pumpAgain && o.running());
  }

  private launch(claimed: ClaimedTask, claimedAt: number): void {
    this.executing++;
    this.active.set(claimed.task.id, runClaimedTask(claimed, this.runContext, claimedAt));
  }

  /** The executor is done with a run: its slot is free (once per run). */
  private release(run: TaskRun): void {
    if (run.released) return;
    run.released = true;
    this.executing--;
    this.pumpSoon();
  }

  /** A run is over: it leaves `active` (and gives its slot back if it had not). */
  private settled(run: TaskRun): void {
    this.active.delete(run.taskId);
    if (run.released) this.pumpSoon();
    else this.release(run);
  }

  /** Return tasks claimed while stopping to the queue (their attempt is recorded as handed back). */
  private async handBack(claimed: ClaimedTask[]): Promise<void> {
    if (claimed.length === 0) return;
    const now = this.o.clock();
    try {
      for (const c of claimed) {
        const { events } = await this.o.store.finishTask(c.task.id, c.leaseToken, handBackOutcome(now), now);
        this.o.bus.publish(events);
      }
    } catch (err) {
      this.o.logger.error({ err }, "could not hand back claimed tasks; their leases will expire");
    }
  }
}
