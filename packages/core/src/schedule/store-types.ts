import type { JsonValue } from "../types.js";
import type { CatchUp, ScheduleTrigger } from "./trigger.js";

/** When the previous run of a schedule is unfinished: fire anyway, skip this firing, or queue it. */
export type Overlap = "allow" | "skip" | "queue";

/** A stored schedule: a template tree plus its trigger (docs/architecture.md#how-a-schedule-fires). */
export interface Schedule {
  id: string;
  name: string;
  /** The owner: every fired tree belongs to this user (null: no owner, local use). */
  userId: string | null;
  /** The template tree, as it was given to `schedules.create` (validated then). */
  tasks: JsonValue[];
  trigger: ScheduleTrigger;
  startAt: string | null;
  endAt: string | null;
  maxRuns: number | null;
  enabled: boolean;
  catchUp: CatchUp;
  overlap: Overlap;
  /** The latest fire time the schedule handled (fired, queued or skipped); null before the first. */
  lastFireAt: string | null;
  /** Firings that made (or will make) a tree, for `maxRuns`; skipped ones do not count. */
  runs: number;
  createdAt: string;
  updatedAt: string;
}

/**
 * One fire time of a schedule, at most one per (schedule, fire time) across every process:
 * `queued` (waiting for the previous run to finish), `firing` (recorded, its tree being created
 * and started), `started` (its tree runs or ran), `skipped` (overlap `skip`: no tree).
 */
export type ScheduleRunState = "queued" | "firing" | "started" | "skipped";

export interface ScheduleRun {
  scheduleId: string;
  fireAt: string;
  /** The fired tree's root (deterministic from schedule and fire time); null when skipped. */
  rootId: string | null;
  state: ScheduleRunState;
  /** Fired by `schedules.trigger`, not by the trigger's timing. */
  manual: boolean;
  createdAt: string;
  updatedAt: string;
}

/** A schedule as written by `createSchedule` (validated by core before). */
export interface NewSchedule {
  id: string;
  name: string;
  userId: string | null;
  tasks: JsonValue[];
  trigger: ScheduleTrigger;
  startAt: string | null;
  endAt: string | null;
  maxRuns: number | null;
  enabled: boolean;
  catchUp: CatchUp;
  overlap: Overlap;
}

/** What `updateSchedule` may change (validated against the merged schedule by core before). */
export type SchedulePatch = Partial<
  Pick<Schedule, "name" | "tasks" | "trigger" | "startAt" | "endAt" | "maxRuns" | "enabled" | "catchUp" | "overlap">
> & {
  /**
   * Where the timing counts from again (a changed trigger must not catch up on firings it would
   * have had before): `lastFireAt` is set to this when given.
   */
  resetLastFireAt?: string | null;
};

export interface ScheduleQuery {
  userId?: string | null;
  enabled?: boolean;
  limit?: number;
  offset?: number;
}

export interface RecordFiring {
  scheduleId: string;
  fireAt: Date;
  rootId: string | null;
  state: Exclude<ScheduleRunState, "started">;
  manual?: boolean;
  now: Date;
}

/**
 * The schedules facet of a store (`store.schedules`): schedules and their runs, in the same
 * database as the tasks but with their own tables and operations. Like `TaskStore`, no operation
 * reads the clock: every write takes `now`. Every implementation must pass the schedule checks of
 * the contract suite (`describeScheduleStoreContract` in `@aipartnerupflow/core/testing`).
 */
export interface ScheduleStore {
  /** Write a new schedule; an id that exists is refused. */
  createSchedule(schedule: NewSchedule, now: Date): Promise<Schedule>;
  getSchedule(id: string): Promise<Schedule | null>;
  /** Oldest first. */
  listSchedules(query?: ScheduleQuery): Promise<{ schedules: Schedule[]; total: number }>;
  /** Change a schedule (`NotFoundError` when it does not exist). */
  updateSchedule(id: string, patch: SchedulePatch, now: Date): Promise<Schedule>;
  /** Delete a schedule and its runs (its fired trees stay). False when it did not exist. */
  deleteSchedule(id: string): Promise<boolean>;

  /**
   * Record one fire time, atomically with the schedule's cursor: insert the run unless one exists
   * for the same (schedule, fire time) — the at-most-once key — and, when inserted and not
   * `manual`, move `lastFireAt` forward to it and count it in `runs` (unless `skipped`).
   * `recorded: false` means another process (or an earlier call) recorded this fire time first.
   */
  recordFiring(firing: RecordFiring): Promise<{ recorded: boolean; run: ScheduleRun }>;
  /**
   * Move a run from one state to another (with its root), only when it is in `from`: true when
   * this call made the change. Two processes draining the same queued run: one wins.
   */
  transitionRun(
    scheduleId: string,
    fireAt: Date,
    from: ScheduleRunState,
    to: ScheduleRunState,
    now: Date,
  ): Promise<boolean>;
  /**
   * Move `lastFireAt` forward to `to` (never back): fire times the catch-up policy passed over,
   * so they are not considered again. Returns the schedule.
   */
  advanceSchedule(id: string, to: Date, now: Date): Promise<Schedule | null>;
  /** A schedule's runs, newest fire time first (`limit` default 100). */
  listRuns(scheduleId: string, query?: { state?: ScheduleRunState[]; limit?: number }): Promise<ScheduleRun[]>;
}

/** A store that has the schedules facet. */
export interface WithSchedules {
  readonly schedules: ScheduleStore;
}

/** The store's schedules facet, or undefined when the store has none. */
export function schedulesOf(store: object): ScheduleStore | undefined {
  const facet = (store as Partial<WithSchedules>).schedules;
  return facet && typeof facet.recordFiring === "function" ? facet : undefined;
}
