import { Cron } from "croner";
import { z } from "zod";
import { ValidationError } from "../errors.js";
import { zodIssues } from "../schema/schema.js";

/**
 * Schedule triggers: when a schedule fires. Pure time arithmetic, no I/O; the store records the
 * firings (at most one per schedule and fire time) and the engine's scheduler asks this module
 * which fire times are due.
 */

/** `cron`: 5 or 6 fields (seconds first when 6) in a time zone; `interval`: a fixed rate; `once`. */
export type ScheduleTrigger =
  | { type: "cron"; expression: string; timezone?: string }
  | { type: "interval"; everyMs: number }
  | { type: "once"; at: string };

/** Firings missed while nothing ran: none of them, the latest one, or every one. */
export type CatchUp = "none" | "one" | "all";

/** What a schedule's timing is made of (its template tree and name live beside it). */
export interface ScheduleTiming {
  trigger: ScheduleTrigger;
  startAt?: string | null;
  endAt?: string | null;
  maxRuns?: number | null;
  catchUp?: CatchUp;
}

const isoDate = z.iso.datetime({ offset: true, message: "must be an ISO-8601 timestamp" });

const cronTrigger = z
  .object({
    type: z.literal("cron"),
    expression: z.string().min(1).max(200),
    timezone: z.string().min(1).max(100).optional(),
  })
  .strict()
  .superRefine((trigger, ctx) => {
    if (trigger.timezone !== undefined && !knownTimeZone(trigger.timezone))
      ctx.addIssue({ code: "custom", path: ["timezone"], message: `unknown time zone "${trigger.timezone}"` });
    const fields = trigger.expression.trim().split(/\s+/).length;
    if (fields !== 5 && fields !== 6) {
      ctx.addIssue({
        code: "custom",
        path: ["expression"],
        message: `a cron expression has 5 or 6 fields, this one has ${fields}`,
      });
      return;
    }
    try {
      new Cron(trigger.expression, { paused: true, ...(knownTimeZone(trigger.timezone) ? zone(trigger) : {}) });
    } catch (err) {
      ctx.addIssue({
        code: "custom",
        path: ["expression"],
        message: `invalid cron expression: ${(err as Error).message}`,
      });
    }
  });

export const scheduleTriggerSchema = z.discriminatedUnion("type", [
  cronTrigger,
  z
    .object({
      type: z.literal("interval"),
      everyMs: z
        .number()
        .int()
        .min(1000)
        .max(366 * 86_400_000),
    })
    .strict(),
  z.object({ type: z.literal("once"), at: isoDate }).strict(),
]);

export const scheduleTimingSchema = z
  .object({
    trigger: scheduleTriggerSchema,
    startAt: isoDate.nullable().optional(),
    endAt: isoDate.nullable().optional(),
    maxRuns: z.number().int().min(1).nullable().optional(),
    catchUp: z.enum(["none", "one", "all"]).optional(),
  })
  .superRefine((timing, ctx) => {
    if (timing.startAt && timing.endAt && Date.parse(timing.endAt) <= Date.parse(timing.startAt))
      ctx.addIssue({ code: "custom", path: ["endAt"], message: "endAt must be after startAt" });
  });

/** Validate a schedule's timing; every problem at once, as `ValidationError` (-32602) naming each field. */
export function parseScheduleTiming(value: unknown, basePath = ""): ScheduleTiming {
  const parsed = scheduleTimingSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, basePath));
  return parsed.data as ScheduleTiming;
}

/**
 * The first fire time strictly after `after`, or null when the trigger fires no more. `anchor` is
 * where an interval counts from (its `startAt`, or when the schedule was created), so a fixed rate
 * never drifts however late the scheduler looks.
 */
export function nextFireAfter(trigger: ScheduleTrigger, after: Date, anchor: Date): Date | null {
  switch (trigger.type) {
    case "once": {
      const at = new Date(trigger.at);
      return at.getTime() > after.getTime() ? at : null;
    }
    case "interval": {
      const elapsed = after.getTime() - anchor.getTime();
      if (elapsed < 0) return new Date(anchor.getTime());
      const k = Math.floor(elapsed / trigger.everyMs) + 1;
      return new Date(anchor.getTime() + k * trigger.everyMs);
    }
    case "cron":
      return new Cron(trigger.expression, { paused: true, ...zone(trigger) }).nextRun(after) ?? null;
  }
}

export interface DueFirings {
  /** Fire times to create now, oldest first (each at most once: the store's unique key decides). */
  fire: Date[];
  /** Fire times passed over by the catch-up policy. */
  skipped: number;
  /** The next fire time after `now`, or null when the schedule is over. */
  nextFireAt: Date | null;
  /**
   * The latest fire time due by `now`, fired or passed over (null: none): the cursor a scheduler
   * moves to, so that passed-over times are not considered again.
   */
  lastDue: Date | null;
}

export interface DueOptions {
  /** The last fire time already recorded (null: none yet). */
  lastFireAt: Date | null;
  /** Firings recorded so far, for `maxRuns`. */
  runs: number;
  /** Where intervals count from and before which nothing fires (the schedule's creation). */
  createdAt: Date;
  now: Date;
  /**
   * How late a firing may be and still count as on time rather than missed (a scheduler that
   * looks every second is always a little late). Default 60 s.
   */
  onTimeMs?: number;
  /** At most this many firings at once with `catchUp: "all"` (default 1,000). */
  maxBatch?: number;
}

/** Which fire times are due at `now`, after the catch-up policy, `endAt` and `maxRuns`. */
export function dueFirings(timing: ScheduleTiming, options: DueOptions): DueFirings {
  const { now } = options;
  const onTimeMs = options.onTimeMs ?? 60_000;
  const maxBatch = options.maxBatch ?? 1000;
  const start = timing.startAt ? new Date(timing.startAt) : options.createdAt;
  const end = timing.endAt ? new Date(timing.endAt).getTime() : Number.POSITIVE_INFINITY;
  const left = timing.maxRuns != null ? Math.max(0, timing.maxRuns - options.runs) : Number.POSITIVE_INFINITY;
  // Fire times are > the last recorded one and >= startAt (a firing exactly at startAt counts);
  // without a startAt, strictly after the creation (an interval's first run is one period in).
  const floor = timing.startAt ? start.getTime() - 1 : start.getTime();
  const after = new Date(Math.max((options.lastFireAt ?? new Date(floor)).getTime(), floor));
  const due: Date[] = [];
  let skipped = 0;
  let lastDue: Date | null = null;
  let next = left > 0 ? nextFireAfter(timing.trigger, after, start) : null;
  while (next && next.getTime() <= now.getTime() && next.getTime() <= end) {
    due.push(next);
    lastDue = next;
    if (due.length > maxBatch) {
      due.shift();
      skipped++;
    }
    next = nextFireAfter(timing.trigger, next, start);
  }
  if (next && next.getTime() > end) next = null;

  let fire = due;
  const catchUp = timing.catchUp ?? "one";
  if (catchUp === "one" && due.length > 1) fire = due.slice(-1);
  if (catchUp === "none") fire = due.filter((at) => now.getTime() - at.getTime() <= onTimeMs).slice(-1);
  skipped += due.length - fire.length;
  if (fire.length > left) {
    skipped += fire.length - left;
    fire = fire.slice(0, left);
  }
  if (left - fire.length <= 0) next = null;
  return { fire, skipped, nextFireAt: next, lastDue };
}

function knownTimeZone(timezone: string | undefined): boolean {
  if (timezone === undefined) return true;
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: timezone });
    return true;
  } catch {
    return false;
  }
}

function zone(trigger: { timezone?: string }): { timezone?: string } {
  return trigger.timezone ? { timezone: trigger.timezone } : {};
}
