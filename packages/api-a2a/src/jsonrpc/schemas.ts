import {
  RESETTABLE_FIELDS,
  TASK_STATUSES,
  jsonObjectSchema,
  jsonValueSchema,
  retryPolicySchema,
  taskInputSchema,
} from "@aipartnerupflow/core";
import { z } from "zod";
import { isForbiddenHeader } from "./outbound.js";

/**
 * zod schemas of the JSON-RPC params. They validate requests, describe the MCP tools and generate
 * the OpenAPI document; keep descriptions short and true (and free of references to documents a
 * caller cannot open).
 */
const id = z.string().min(1).max(200);
const taskId = id.describe("task id");
const limit = (max: number, def: number) => z.number().int().min(1).max(max).default(def);
/** A repeat with the same key (per user, for 24 h) answers the first request's response and does nothing. */
export const idempotencyKey = z
  .string()
  .min(1)
  .max(200)
  .optional()
  .describe("repeat-safe: a retry with the same key answers the first response instead of doing the work again");

export const taskIdParams = z.object({ taskId });

export const createParams = z.object({
  tasks: z
    .array(z.record(z.string(), z.unknown()))
    .describe("flat task array; parentId and dependencies refer to tasks of the request by id or name"),
  idempotencyKey,
});

/**
 * What `createParams` accepts, as documented: each item is checked against the task input schema
 * (with the tree's own rules: one root, known parents and dependencies, no cycles) when the tree is
 * validated, so that the problems of every task are reported together.
 */
export const createParamsDoc = z.object({
  tasks: z
    .array(taskInputSchema)
    .describe(
      'flat task array; parentId and dependencies refer to tasks of the request by id or name. A root may also carry uniqueKey (1..200 chars) and unique ({"scope": "active"} or {"scope": "period", "periodMs": N}): no new tree while one with that key and owner is unfinished (or within the period); the answer names it with existing: true',
    ),
  idempotencyKey,
});

export const updateParams = z.object({
  taskId,
  name: z.string().optional(),
  inputs: jsonObjectSchema.optional(),
  params: jsonObjectSchema.optional(),
  schemas: jsonObjectSchema.optional(),
  priority: z.number().optional(),
  metadata: jsonObjectSchema.optional(),
  retry: retryPolicySchema.nullable().optional(),
  runAt: z.string().nullable().optional(),
});

const statusSchema = z.enum(TASK_STATUSES);

export const listParams = z.object({
  status: z.union([statusSchema, z.array(statusSchema)]).optional(),
  rootId: id.optional(),
  parentId: id.nullable().optional(),
  rootsOnly: z.boolean().optional(),
  userId: z.string().nullable().optional().describe("admins only: another user's tasks"),
  limit: limit(1000, 100),
  offset: z.number().int().min(0).default(0),
  order: z.enum(["createdAt", "-createdAt"]).default("-createdAt"),
});

export const countParams = z.object({
  rootId: id.optional(),
  rootsOnly: z.boolean().optional(),
  userId: z.string().nullable().optional(),
});

export const treeParams = z.object({
  taskId: taskId.optional(),
  rootId: id.optional(),
  format: z.enum(["nested", "flat"]).default("nested"),
});

export const childrenParams = z.object({ parentId: id.optional(), taskId: taskId.optional() });

export const copyParams = z.object({
  taskId,
  mode: z.enum(["minimal", "full", "custom"]).default("minimal"),
  taskIds: z.array(id).optional(),
  includeDescendants: z.boolean().optional(),
  resetFields: z.array(z.enum(RESETTABLE_FIELDS)).optional(),
  save: z.boolean().default(true),
  run: z.boolean().default(false).describe("also execute the saved copy (answers its executionId)"),
  idempotencyKey,
});

export const webhookSchema = z.object({
  url: z.url({ protocol: /^https?$/, error: "webhook url must be an http(s) URL" }),
  headers: z
    .record(
      z.string().refine((name) => !isForbiddenHeader(name), {
        error: "webhook header names must be valid and not hop-by-hop, framing, cookie or proxy headers",
      }),
      z.string().regex(/^[^\r\n\0]*$/, { error: "webhook header values must not contain line breaks" }),
    )
    .optional()
    .describe("extra request headers (not host, connection, content-length, transfer-encoding, cookie, proxy-*)"),
});

export const executeParams = z.object({
  taskId,
  rerun: z.enum(["failed", "all"]).optional(),
  demo: z.boolean().optional(),
  stream: z.boolean().default(false).describe("answer with an SSE stream of the execution's events"),
  wait: z.boolean().default(false).describe("answer when the tree finished, with its outcome"),
  webhook: webhookSchema.optional().describe("POST every event of the execution to this URL"),
  idempotencyKey,
});

export const cancelParams = z.object({ taskId, reason: z.string().max(1000).optional() });

export const resumeParams = z.object({
  taskId,
  input: jsonValueSchema
    .optional()
    .describe(
      "the answer; checked against the wait's schema (approval: {approved: boolean, comment?} plus its schema's fields)",
    ),
});

export const signalParams = z.object({
  event: z.string().min(1).max(200).describe("the event name tasks wait for (ctx.waitFor({event}))"),
  key: z
    .string()
    .min(1)
    .max(500)
    .nullable()
    .optional()
    .describe("only waits with this key (none: waits without a key)"),
  payload: jsonValueSchema.optional().describe("the answer given to every task resumed"),
});

export const runningListParams = z.object({ limit: limit(1000, 100) });

export const runningStatusParams = z.object({ taskIds: z.array(id).min(1).max(1000) });

export const eventsParams = z.object({
  taskId: taskId.optional(),
  rootId: id.optional(),
  executionId: id.optional(),
  afterSeq: z.number().int().min(0).default(0),
  limit: limit(10_000, 1000),
  stream: z.boolean().default(false).describe("follow live events as SSE until the tree finishes"),
});

export const generateParams = z.object({
  requirement: z.string().min(1).max(20_000),
  inputs: jsonObjectSchema.optional(),
  params: jsonObjectSchema.optional(),
});

export const planParams = z.object({
  requirement: z.string().min(1).max(20_000).describe("what to do, in plain language"),
  model: z.string().min(1).max(200).optional().describe("provider:model for the planner (its default otherwise)"),
  executors: z.array(z.string().min(1)).max(200).optional().describe("executor ids the plan may use (default: all)"),
  run: z.boolean().default(true).describe("execute the planned tree at once (it waits at its approval)"),
});

export const emptyParams = z.object({});
