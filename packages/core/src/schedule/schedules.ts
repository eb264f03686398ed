import { createHash } from "node:crypto";
import { z } from "zod";
import { ValidationError } from "../errors.js";
import { zodIssues } from "../schema/schema.js";
import type { ExecutionStatus, JsonObject, JsonValue, NewTask, TaskInput } from "../types.js";
import type { Overlap, Schedule, ScheduleRun } from "./store-types.js";
import {
  type CatchUp,
  dueFirings,
  type ScheduleTiming,
  type ScheduleTrigger,
  scheduleTriggerSchema,
} from "./trigger.js";

/** What a schedule is created from (JSON-RPC `schedules.create`, the CLI, the library). */
export interface ScheduleInput {
  name: string;
  /** The template tree: a flat task array as `tasks.create` takes it (exactly one root). */
  tasks: unknown[];
  trigger: ScheduleTrigger;
  startAt?: string | null;
  endAt?: string | null;
  maxRuns?: number | null;
  enabled?: boolean;
  catchUp?: CatchUp;
  overlap?: Overlap;
}

export type ScheduleUpdate = Partial<ScheduleInput>;

/** A schedule as surfaces show it: the stored one plus its next fire time (null: none). */
export type ScheduleView = Schedule & { nextFireAt: string | null };

/** A run as surfaces show it: `status` is the fired tree's state, or `queued` / `skipped`. */
export interface ScheduleRunView {
  fireAt: string;
  rootId: string | null;
  status: "queued" | "skipped" | "pending" | ExecutionStatus;
  manual: boolean;
}

const isoDate = z.iso.datetime({ offset: true, message: "must be an ISO-8601 timestamp" });

const fields = {
  name: z.string().trim().min(1).max(200),
  tasks: z.array(z.unknown()).min(1, "the template needs at least one task"),
  trigger: scheduleTriggerSchema,
  startAt: isoDate.nullable().optional(),
  endAt: isoDate.nullable().optional(),
  maxRuns: z.number().int().min(1).nullable().optional(),
  enabled: z.boolean().optional(),
  catchUp: z.enum(["none", "one", "all"]).optional(),
  overlap: z.enum(["allow", "skip", "queue"]).optional(),
};

function endAfterStart(value: { startAt?: string | null; endAt?: string | null }, ctx: z.RefinementCtx): void {
  if (value.startAt && value.endAt && Date.parse(value.endAt) <= Date.parse(value.startAt))
    ctx.addIssue({ code: "custom", path: ["endAt"], message: "endAt must be after startAt" });
}

/** `schedules.create` params (validation names each bad field: `trigger.expression`, `endAt`, ...). */
export const scheduleInputSchema = z.object(fields).superRefine(endAfterStart);

/** `schedules.update` params besides the schedule id: any field of the input. */
export const scheduleUpdateSchema = z
  .object({
    name: fields.name.optional(),
    tasks: fields.tasks.optional(),
    trigger: fields.trigger.optional(),
    startAt: fields.startAt,
    endAt: fields.endAt,
    maxRuns: fields.maxRuns,
    enabled: fields.enabled,
    catchUp: fields.catchUp,
    overlap: fields.overlap,
  })
  .superRefine(endAfterStart);

/** Validate a schedule's input; every problem at once as `ValidationError` (-32602) naming the fields. */
export function parseScheduleInput(value: unknown, basePath = ""): ScheduleInput {
  const parsed = scheduleInputSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, basePath));
  return parsed.data as ScheduleInput;
}

export function parseScheduleUpdate(value: unknown, basePath = ""): ScheduleUpdate {
  const parsed = scheduleUpdateSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, basePath));
  return parsed.data as ScheduleUpdate;
}

export function timingOf(s: Schedule): ScheduleTiming {
  return { trigger: s.trigger, startAt: s.startAt, endAt: s.endAt, maxRuns: s.maxRuns, catchUp: s.catchUp };
}

/** When the schedule fires next as seen at `now`: an overdue time (fires at once), the next one, or null. */
export function nextFireOf(s: Schedule, now: Date, onTimeMs?: number): Date | null {
  if (!s.enabled) return null;
  const due = dueFirings(timingOf(s), {
    lastFireAt: s.lastFireAt ? new Date(s.lastFireAt) : null,
    runs: s.runs,
    createdAt: new Date(s.createdAt),
    now,
    ...(onTimeMs !== undefined ? { onTimeMs } : {}),
  });
  return due.fire[0] ?? due.nextFireAt;
}

export function viewOf(s: Schedule, now: Date): ScheduleView {
  return { ...s, nextFireAt: nextFireOf(s, now)?.toISOString() ?? null };
}

/**
 * The id of a fired task: a UUID-shaped digest of (schedule, fire time, position in the template),
 * the same in every process. Two processes firing the same time create the same root id, so the
 * second creation is refused by the task store's primary key: the tree exists at most once.
 */
export function firingTaskId(scheduleId: string, fireAt: Date, index: number): string {
  const hex = createHash("sha256").update(`${scheduleId}\n${fireAt.toISOString()}\n${index}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

/** Where a fired root records its schedule (root `metadata.schedule`). */
export interface FiringLink {
  scheduleId: string;
  scheduleName: string;
  fireAt: string;
  manual?: boolean;
}

/**
 * The template resolved for one fire time: fresh deterministic ids (references remapped), the
 * schedule's owner on every task, and the link to the schedule in the root's metadata.
 */
export function instantiateTemplate(
  resolved: NewTask[],
  schedule: Pick<Schedule, "id" | "name" | "userId">,
  fireAt: Date,
  manual: boolean,
): TaskInput[] {
  const ids = new Map(resolved.map((t, i) => [t.id, firingTaskId(schedule.id, fireAt, i)]));
  const map = (id: string): string => ids.get(id) ?? id;
  return resolved.map((t) => {
    const isRoot = t.parentId === null;
    const link: FiringLink = {
      scheduleId: schedule.id,
      scheduleName: schedule.name,
      fireAt: fireAt.toISOString(),
      ...(manual ? { manual: true } : {}),
    };
    const metadata: JsonObject = isRoot ? { ...t.metadata, schedule: link as unknown as JsonValue } : { ...t.metadata };
    const input: TaskInput = {
      id: map(t.id),
      name: t.name,
      parentId: t.parentId === null ? null : map(t.parentId),
      userId: schedule.userId ?? t.userId,
      priority: t.priority,
      dependencies: t.dependencies.map((d) => ({ id: map(d.id), required: d.required })),
      inputs: t.inputs,
      params: t.params,
      schemas: t.schemas,
      retry: t.retry,
      runAt: t.runAt,
      metadata,
    };
    return input;
  });
}

/** A run's status for surfaces, from its state and its tree's latest execution. */
export function runStatus(run: ScheduleRun, execution: { status: ExecutionStatus } | null): ScheduleRunView["status"] {
  if (run.state === "queued" || run.state === "skipped") return run.state;
  return execution ? execution.status : "pending";
}
