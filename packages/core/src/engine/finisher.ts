import { LeaseLostError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { FinishBatchResult, FinishItem, TaskStore } from "../store/types.js";
import type { Execution, Task } from "../types.js";
import type { EventBus } from "./event-bus.js";

interface Pending extends FinishItem {
  after: ((task: Task) => Promise<void>) | undefined;
  resolve(written: boolean): void;
  reject(err: unknown): void;
}

/**
 * Writes task outcomes in batches: every outcome that arrives before the next turn of the event
 * loop goes to the store in one `finishTasks` call (one transaction for SQL stores), at once (no
 * linger: a batch is what arrived in one turn). Resolves each with whether it was written (false:
 * its lease was lost and the write refused). `written()` lets the claim loop claim for freed
 * slots only after their outcomes are written.
 */
export class Finisher {
  private queue: Pending[] = [];
  private scheduled = false;
  /** The batch waiting for its turn (settles once written), and the writes in flight. */
  private next: Promise<void> | null = null;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: TaskStore,
    private readonly bus: EventBus,
    private readonly clock: () => Date,
    private readonly logger: Logger,
    private readonly onFinished: (executions: Execution[]) => Promise<void>,
    /** Told of every outcome the store refused because its lease was lost (a late write). */
    private readonly onRefused: (taskId: string) => void = () => {},
  ) {}

  /**
   * Settles once every outcome queued so far is written (or refused): the claim for slots freed
   * by finishing tasks waits for it, so that their writes reach the store first (a claim and an
   * outcome write take the same events lock; the outcome first keeps a finished task unrecorded
   * for one write, not for a claim and a write).
   */
  written(): Promise<void> {
    const pending = [...this.inFlight];
    if (this.next) pending.push(this.next);
    return pending.length === 0 ? Promise.resolve() : Promise.all(pending).then(() => undefined);
  }

  /** `after` runs once the outcome is written, before any tree it finished is reported. */
  finish(item: FinishItem, after?: (task: Task) => Promise<void>): Promise<boolean> {
    return new Promise<boolean>((resolve, reject) => {
      this.queue.push({
        taskId: item.taskId,
        leaseToken: item.leaseToken,
        outcome: item.outcome,
        after,
        resolve,
        reject,
      });
      if (!this.scheduled) {
        this.scheduled = true;
        this.next = new Promise<void>((done) =>
          setImmediate(() => {
            const flushing = this.flush().catch((err: unknown) => {
              this.logger.error({ err }, "writing a batch of outcomes failed");
            });
            this.inFlight.add(flushing);
            void flushing.then(() => {
              this.inFlight.delete(flushing);
              done();
            });
          }),
        );
      }
    });
  }

  private async flush(): Promise<void> {
    const batch = this.queue;
    this.queue = [];
    this.scheduled = false;
    this.next = null;
    await this.write(batch);
  }

  private async write(batch: Pending[]): Promise<void> {
    let result: FinishBatchResult;
    try {
      result = this.store.finishTasks ? await this.store.finishTasks(batch, this.clock()) : await this.oneByOne(batch);
    } catch (err) {
      for (const p of batch) p.reject(err);
      return;
    }
    this.bus.publish(result.events);
    for (let i = 0; i < batch.length; i++) {
      const p = batch[i] as Pending;
      const r = result.results[i] as FinishBatchResult["results"][number];
      if (r.error === null) {
        // The written task is read only when a step needs it (stores may build it lazily).
        const written = p.after ? r.task : null;
        if (p.after && written) {
          try {
            await p.after(written);
          } catch (err) {
            this.logger.error({ err, taskId: r.taskId }, "after-write step failed");
          }
        }
        p.resolve(true);
      } else if (r.error instanceof LeaseLostError) {
        this.logger.warn({ taskId: r.taskId }, "late write refused: the lease was lost");
        this.onRefused(r.taskId);
        p.resolve(false);
      } else p.reject(r.error);
    }
    if (result.finished.length > 0) await this.onFinished(result.finished);
  }

  private async oneByOne(batch: Pending[]): Promise<FinishBatchResult> {
    const out: FinishBatchResult = { results: [], finished: [], events: [] };
    const now = this.clock();
    for (const p of batch) {
      try {
        const r = await this.store.finishTask(p.taskId, p.leaseToken, p.outcome, now);
        out.results.push({ taskId: p.taskId, task: r.task, error: null });
        out.events.push(...r.events);
        out.finished.push(...r.finished);
      } catch (err) {
        out.results.push({ taskId: p.taskId, task: null, error: err as Error });
      }
    }
    return out;
  }
}
