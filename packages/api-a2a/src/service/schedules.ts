import {
  type Engine,
  type Fired,
  NotFoundError,
  type ScheduleRunView,
  type ScheduleView,
  Scheduler,
  schedulesOf,
  type TaskStore,
} from "@aipartnerupflow/core";
import type { Principal } from "../types.js";

/** What `schedules.list` takes. */
export interface ScheduleListQuery {
  enabled?: boolean;
  limit?: number;
  offset?: number;
}

/**
 * The schedule operations of every surface (`TaskService.schedules`), with the same per-user
 * isolation as tasks: a caller sees and changes only its own schedules (admins every one), and a
 * foreign schedule looks exactly like a missing one. Validation errors name the `params.` field.
 */
export class ScheduleOperations {
  readonly #scheduler: Scheduler;

  /** `onFire`: each tree a trigger fired (the queue metrics count them). */
  constructor(engine: Engine, store: TaskStore, onFire?: (fired: Fired) => void) {
    const facet = schedulesOf(store);
    this.#scheduler = new Scheduler({ engine, ...(facet ? { schedules: facet } : {}), ...(onFire ? { onFire } : {}) });
  }

  create(principal: Principal, input: unknown): Promise<ScheduleView> {
    return this.#scheduler.create(input, { userId: principal.userId, basePath: "params" });
  }

  async get(principal: Principal, scheduleId: string): Promise<ScheduleView> {
    const schedule = await this.#scheduler.get(scheduleId).catch((err: unknown) => {
      if (err instanceof NotFoundError) throw new NotFoundError("schedule", scheduleId);
      throw err;
    });
    if (!principal.admin && (schedule.userId === null || schedule.userId !== principal.userId)) {
      throw new NotFoundError("schedule", scheduleId);
    }
    return schedule;
  }

  async list(
    principal: Principal,
    query: ScheduleListQuery = {},
  ): Promise<{ schedules: ScheduleView[]; total: number }> {
    return this.#scheduler.list({
      ...(principal.admin ? {} : { userId: principal.userId }),
      ...(query.enabled !== undefined ? { enabled: query.enabled } : {}),
      limit: query.limit ?? 100,
      offset: query.offset ?? 0,
    });
  }

  async update(principal: Principal, scheduleId: string, patch: unknown): Promise<ScheduleView> {
    await this.get(principal, scheduleId);
    return this.#scheduler.update(scheduleId, patch, { basePath: "params" });
  }

  async delete(principal: Principal, scheduleId: string): Promise<{ deleted: boolean }> {
    await this.get(principal, scheduleId);
    return this.#scheduler.delete(scheduleId);
  }

  /** Fire now (a manual run, whatever the timing and overlap): the tree is created and executed. */
  async trigger(principal: Principal, scheduleId: string, options: { idempotencyKey?: string } = {}): Promise<Fired> {
    await this.get(principal, scheduleId);
    return this.#scheduler.trigger(scheduleId, {
      ...(options.idempotencyKey !== undefined ? { idempotencyKey: options.idempotencyKey } : {}),
      userId: principal.userId,
    });
  }

  async runs(principal: Principal, scheduleId: string, limit?: number): Promise<{ runs: ScheduleRunView[] }> {
    await this.get(principal, scheduleId);
    return this.#scheduler.runs(scheduleId, limit !== undefined ? { limit } : {});
  }
}
