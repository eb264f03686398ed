import { z } from "zod";
import { type JsonObject, type JsonValue, TASK_STATUSES } from "../types.js";

/** zod schemas for the task fields of SPEC §3, shared by tree validation, updates and the APIs. */

/** Whether a value is JSON: what survives `JSON.stringify` unchanged (finite numbers, no undefined). */
export function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  if (value === null) return true;
  switch (typeof value) {
    case "string":
    case "boolean":
      return true;
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (depth > 100) return false;
      if (Array.isArray(value)) {
        for (const item of value) if (!isJsonValue(item, depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        if (!isJsonValue((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

// A hand-written check instead of a recursive zod union: validation of big trees spends most of
// its time here, and the union is an order of magnitude slower.
export const jsonValueSchema = z.custom<JsonValue>((v) => isJsonValue(v), {
  error: "must be a JSON value (finite numbers, no undefined, functions or class instances, at most 100 levels deep)",
});

export const jsonObjectSchema = z.custom<JsonObject>(
  (v) => v !== null && typeof v === "object" && !Array.isArray(v) && isJsonValue(v),
  { error: "must be a JSON object" },
);

export const taskNameSchema = z
  .string({ error: "name must be a string" })
  .trim()
  .min(1, "name must not be empty")
  .max(200, "name must be at most 200 characters");

export const prioritySchema = z
  .number({ error: "priority must be an integer from 0 to 3" })
  .int("priority must be an integer from 0 to 3")
  .min(0, "priority must be from 0 (urgent) to 3 (low)")
  .max(3, "priority must be from 0 (urgent) to 3 (low)");

export const isoDateSchema = z.iso.datetime({ offset: true, error: "must be an ISO-8601 timestamp" });

export const taskStatusSchema = z.enum(TASK_STATUSES);

export const backoffSchema = z
  .object({
    type: z.enum(["fixed", "exponential", "custom"]),
    delayMs: z.number().int().min(0).optional(),
    factor: z.number().min(1).optional(),
    maxDelayMs: z.number().int().min(0).optional(),
    jitter: z.boolean().optional(),
    name: z.string().min(1).optional(),
  })
  .strict()
  .refine(
    (b) => b.type !== "custom" || b.name !== undefined,
    "a custom backoff needs the name of a registered backoff function",
  );

export const retryPolicySchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(1000),
    backoff: backoffSchema.optional(),
    retryOn: z.array(z.string().min(1)).optional(),
    maxElapsedMs: z.number().int().min(0).optional(),
  })
  .strict();

export const taskErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: jsonValueSchema.optional(),
});

export const dependencyInputSchema = z.union([
  z.string().min(1, "dependency reference must not be empty"),
  z
    .object({
      id: z.string({ error: "dependency id must be a string" }).min(1, "dependency id must not be empty"),
      required: z.boolean().optional(),
    })
    .loose(),
]);

/** One task of a creation request (the flat array every surface accepts). */
export const taskInputSchema = z
  .object({
    id: z.string().min(1, "id must not be empty").max(200).optional(),
    name: taskNameSchema,
    parentId: z.string().min(1).nullable().optional(),
    userId: z.string().nullable().optional(),
    priority: prioritySchema.optional(),
    dependencies: z.array(dependencyInputSchema).optional(),
    inputs: jsonObjectSchema.optional(),
    params: jsonObjectSchema.optional(),
    schemas: jsonObjectSchema.optional(),
    retry: retryPolicySchema.nullable().optional(),
    runAt: isoDateSchema.nullable().optional(),
    metadata: jsonObjectSchema.optional(),
    originalTaskId: z.string().nullable().optional(),
    status: taskStatusSchema.optional(),
    result: jsonValueSchema.optional(),
    error: taskErrorSchema.nullable().optional(),
    progress: z.number().min(0).max(1).optional(),
    attempt: z.number().int().min(0).optional(),
    startedAt: isoDateSchema.nullable().optional(),
    completedAt: isoDateSchema.nullable().optional(),
  })
  .loose();
