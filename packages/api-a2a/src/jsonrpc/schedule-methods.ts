import { ErrorCode, scheduleInputSchema, scheduleTriggerSchema } from "@aipartnerupflow/core";
import { z } from "zod";
import type { MethodDefinition } from "./methods.js";
import { idempotencyKey } from "./schemas.js";

/**
 * `schedules.*`: stored template trees fired by a trigger (cron, interval, once). Each method
 * calls `ctx.service.schedules` only; the params and results below also describe the MCP tools
 * and the OpenAPI document.
 */

const scheduleId = z.string().min(1).max(200).describe("schedule id");
const isoDate = z.iso.datetime({ offset: true });
const NOT_FOUND = [ErrorCode.TaskNotFound] as const;
const TEMPLATE_ERRORS = [
  ErrorCode.CircularDependency,
  ErrorCode.ExecutorNotFound,
  ErrorCode.InvalidTask,
  ErrorCode.InvalidParent,
  ErrorCode.InvalidDependency,
  ErrorCode.TreeValidationFailed,
] as const;

const createParams = scheduleInputSchema.describe(
  "name, the template tree (a flat task array as tasks.create takes it, one root), a trigger " +
    '({type:"cron",expression,timezone?} | {type:"interval",everyMs} | {type:"once",at}), and optional ' +
    "startAt, endAt, maxRuns, enabled, catchUp (none|one|all, default one) and overlap (allow|skip|queue, default allow)",
);

const updateParams = z.object({
  scheduleId,
  name: z.string().trim().min(1).max(200).optional(),
  tasks: z.array(z.unknown()).min(1).optional().describe("a new template tree"),
  trigger: scheduleTriggerSchema.optional(),
  startAt: isoDate.nullable().optional(),
  endAt: isoDate.nullable().optional(),
  maxRuns: z.number().int().min(1).nullable().optional(),
  enabled: z.boolean().optional(),
  catchUp: z.enum(["none", "one", "all"]).optional(),
  overlap: z.enum(["allow", "skip", "queue"]).optional(),
});

const idParams = z.object({ scheduleId });
const listParams = z.object({
  enabled: z.boolean().optional().describe("only enabled (true) or disabled (false) schedules"),
  limit: z.number().int().min(1).max(1000).default(100),
  offset: z.number().int().min(0).default(0),
});
const runsParams = z.object({ scheduleId, limit: z.number().int().min(1).max(1000).default(100) });

const time = z.string().describe("ISO-8601 timestamp");
export const scheduleSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    userId: z.string().nullable(),
    tasks: z.array(z.unknown()).describe("the template tree"),
    trigger: z.record(z.string(), z.unknown()),
    startAt: time.nullable(),
    endAt: time.nullable(),
    maxRuns: z.number().int().nullable(),
    enabled: z.boolean(),
    catchUp: z.enum(["none", "one", "all"]),
    overlap: z.enum(["allow", "skip", "queue"]),
    lastFireAt: time.nullable().describe("the latest fire time handled"),
    runs: z.number().int().min(0).describe("firings that made a tree (for maxRuns)"),
    createdAt: time,
    updatedAt: time,
    nextFireAt: time.nullable().describe("when it fires next (null: never again, or disabled)"),
  })
  .describe("Schedule");

const firedSchema = z.object({
  scheduleId: z.string(),
  fireAt: time,
  rootId: z.string().describe("root of the fired tree"),
  executionId: z.string().nullable(),
});

const runSchema = z.object({
  fireAt: time,
  rootId: z.string().nullable(),
  status: z
    .enum(["queued", "skipped", "pending", "running", "completed", "failed", "cancelled"])
    .describe("the fired tree's state; queued (overlap queue) or skipped (overlap skip) without a tree"),
  manual: z.boolean().describe("fired by schedules.trigger"),
});

function define<P extends z.ZodType>(def: MethodDefinition<P>): MethodDefinition {
  return def as unknown as MethodDefinition;
}

export const SCHEDULE_METHODS: MethodDefinition[] = [
  define({
    name: "schedules.create",
    summary: "Store a schedule: a template tree fired by a cron, interval or once trigger",
    params: createParams,
    result: scheduleSchema,
    errors: [...TEMPLATE_ERRORS],
    mcp: {
      tool: "create_schedule",
      title: "Create a schedule",
      description:
        "Store a template task tree and a trigger (cron with time zone, fixed-rate interval, or once). Each fire time runs a fresh copy of the tree. Returns the schedule with its id and nextFireAt.",
    },
    handler: (p, ctx) => ctx.service.schedules.create(ctx.principal, p),
  }),
  define({
    name: "schedules.get",
    summary: "One schedule with its next fire time",
    params: idParams,
    result: scheduleSchema,
    errors: NOT_FOUND,
    handler: (p, ctx) => ctx.service.schedules.get(ctx.principal, p.scheduleId),
  }),
  define({
    name: "schedules.list",
    summary: "The caller's schedules (every one for admins), oldest first, with next fire times",
    params: listParams,
    result: z.object({ schedules: z.array(scheduleSchema), total: z.number().int().min(0) }),
    errors: [],
    mcp: {
      tool: "list_schedules",
      title: "List schedules",
      description: "Schedules with their triggers and next fire times.",
    },
    handler: (p, ctx) => ctx.service.schedules.list(ctx.principal, p),
  }),
  define({
    name: "schedules.update",
    summary: "Change a schedule (a new trigger or startAt counts from now: no catch-up)",
    params: updateParams,
    result: scheduleSchema,
    errors: [...NOT_FOUND, ...TEMPLATE_ERRORS],
    handler: ({ scheduleId: id, ...patch }, ctx) => ctx.service.schedules.update(ctx.principal, id, patch),
  }),
  define({
    name: "schedules.delete",
    summary: "Delete a schedule and its run records (trees it fired stay)",
    params: idParams,
    result: z.object({ deleted: z.boolean() }),
    errors: NOT_FOUND,
    handler: (p, ctx) => ctx.service.schedules.delete(ctx.principal, p.scheduleId),
  }),
  define({
    name: "schedules.trigger",
    summary: "Fire a schedule now (a manual run, whatever its timing and overlap)",
    params: idParams.extend({ idempotencyKey }),
    result: firedSchema,
    errors: [...NOT_FOUND, ErrorCode.Unavailable],
    mcp: {
      tool: "trigger_schedule",
      title: "Trigger a schedule",
      description: "Run a schedule's template tree now. Returns the fired tree's root id and execution id.",
    },
    handler: (p, ctx) =>
      ctx.service.schedules.trigger(
        ctx.principal,
        p.scheduleId,
        p.idempotencyKey !== undefined ? { idempotencyKey: p.idempotencyKey } : {},
      ),
  }),
  define({
    name: "schedules.runs",
    summary: "A schedule's fire times, newest first, each with its tree and status",
    params: runsParams,
    result: z.object({ runs: z.array(runSchema) }),
    errors: NOT_FOUND,
    handler: (p, ctx) => ctx.service.schedules.runs(ctx.principal, p.scheduleId, p.limit),
  }),
];
