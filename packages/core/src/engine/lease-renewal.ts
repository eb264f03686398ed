import type { Logger } from "../logger.js";
import type { Registry } from "../registry/registry.js";
import type { TaskStore } from "../store/types.js";
import type { Execution } from "../types.js";
import type { EventBus } from "./event-bus.js";
import type { RunningTask } from "./run-task.js";

export interface LeaseKeeperOptions {
  store: TaskStore;
  bus: EventBus;
  logger: Logger;
  clock: () => Date;
  owner: string;
  leaseMs: number;
  maxLeaseAttempts: number;
  /** Whose executors' default retry policies the reclaim applies. */
  registry: Registry;
  /** The tasks this engine runs (the claim loop's). */
  active: ReadonlyMap<string, RunningTask>;
  /** Executions a reclaim finished (their hooks and waiters). */
  onFinished(executions: Execution[]): Promise<void>;
}

/**
 * Leases, both ways: renew the leases of the tasks this engine runs (aborting those it lost or
 * whose cancellation was requested, and stopping work in time when the store cannot be reached),
 * and reclaim tasks whose lease expired (a crashed or stalled node's).
 */
export class LeaseKeeper {
  constructor(private readonly o: LeaseKeeperOptions) {}

  /** How often `renew` runs: every third of the lease. */
  get renewEveryMs(): number {
    return Math.max(50, Math.floor(this.o.leaseMs / 3));
  }

  async renew(): Promise<void> {
    const o = this.o;
    if (o.active.size === 0) return;
    const runs = [...o.active.values()];
    const leases = runs.map((r) => ({ taskId: r.taskId, leaseToken: r.leaseToken }));
    const asked = o.clock().getTime();
    try {
      const result = await o.store.renewLeases(o.owner, leases, o.leaseMs, new Date(asked));
      const lost = new Set(result.lost);
      for (const run of runs) if (!lost.has(run.taskId)) run.renewedAt = asked;
      for (const id of result.lost) o.active.get(id)?.abort("lease_lost");
      for (const id of result.cancelRequested) o.active.get(id)?.abort("cancel");
    } catch (err) {
      o.logger.error({ err }, "lease renewal failed");
      // Unable to renew: stop work before the lease can expire and another node takes it over
      // (docs/semantics.md#leases-and-takeover). The margin leaves time for the abort to land before the lease ends.
      const deadline = asked - o.leaseMs + Math.max(50, Math.floor(o.leaseMs / 6));
      for (const run of runs) if (run.renewedAt <= deadline) run.abort("lease_lost");
    }
  }

  async reclaim(): Promise<void> {
    const o = this.o;
    try {
      const result = await o.store.reclaimExpired(o.clock(), {
        maxAttempts: o.maxLeaseAttempts,
        executorRetry: o.registry.executorRetryPolicies(),
      });
      if (result.tasks.length > 0) {
        o.logger.warn({ tasks: result.tasks.map((t) => t.id) }, "reclaimed tasks with expired leases");
      }
      o.bus.publish(result.events);
      const finished = result.events.filter((e) => e.type === "tree.finished" && e.executionId !== null);
      if (finished.length > 0) {
        const executions = await Promise.all(finished.map((e) => o.store.getExecution(e.executionId as string)));
        await o.onFinished(executions.filter((e): e is Execution => e !== null));
      }
    } catch (err) {
      o.logger.error({ err }, "reclaim failed");
    }
  }
}
