import { z } from "zod";
import { type JsonObject, type JsonValue, TASK_STATUSES } from "../types.js";

/** zod schemas for the task fields of SPEC §3, shared by tree validation, updates and the APIs. */

/**
 * How deep objects and arrays may nest in a JSON field of a task (inputs, params, schemas,
 * metadata, result, error details): the field itself is level 0, and levels above 100 are refused.
 */
export const MAX_JSON_DEPTH = 100;

/** Why a value is not acceptable JSON, and where (`path` relative to the value). */
export interface JsonProblem {
  path: Array<string | number>;
  code: "not_json" | "too_deep";
  message: string;
}

/** How many problems one field reports at most (the rest would only repeat). */
const MAX_PROBLEMS_PER_FIELD = 20;

/**
 * Every reason `value` is not JSON a task field may hold (at most `max`), each with its path;
 * empty when it is fine. A value nested too deep is one problem, reported at the field itself.
 */
export function findJsonProblems(value: unknown, max = MAX_PROBLEMS_PER_FIELD): JsonProblem[] {
  const out: JsonProblem[] = [];
  collect(value, 0, [], out, max);
  return out;
}

/** The first reason `value` is not JSON a task field may hold, or null when it is fine. */
export function findJsonProblem(value: unknown): JsonProblem | null {
  return findJsonProblems(value, 1)[0] ?? null;
}

/** Returns false once no more problems are wanted (the limit is reached, or too deep). */
function collect(
  value: unknown,
  depth: number,
  path: Array<string | number>,
  out: JsonProblem[],
  max: number,
): boolean {
  const problem = (code: JsonProblem["code"], message: string): boolean => {
    out.push({ path: code === "too_deep" ? [] : [...path], code, message });
    return code !== "too_deep" && out.length < max;
  };
  if (value === null) return true;
  switch (typeof value) {
    case "boolean":
    case "string":
      return true;
    case "number":
      return Number.isFinite(value) || problem("not_json", `${value} is not JSON: numbers must be finite`);
    case "object": {
      if (depth > MAX_JSON_DEPTH) {
        return problem(
          "too_deep",
          `nesting limit exceeded: objects and arrays in task fields may nest at most ${MAX_JSON_DEPTH} levels deep`,
        );
      }
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) {
          path.push(i);
          const more = collect(value[i], depth + 1, path, out, max);
          path.pop();
          if (!more) return false;
        }
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) {
        const name = (proto as { constructor?: { name?: string } }).constructor?.name || "object";
        return problem("not_json", `a ${name} instance is not JSON (plain objects only)`);
      }
      for (const key in value) {
        path.push(key);
        const more = collect((value as Record<string, unknown>)[key], depth + 1, path, out, max);
        path.pop();
        if (!more) return false;
      }
      return true;
    }
    default:
      return problem("not_json", `${typeof value} is not JSON`);
  }
}

/** Whether a value is JSON: what survives `JSON.stringify` unchanged (finite numbers, no undefined). */
export function isJsonValue(value: unknown, depth = 0): value is JsonValue {
  const out: JsonProblem[] = [];
  collect(value, depth, [], out, 1);
  return out.length === 0;
}

function addJsonProblems(problems: JsonProblem[], ctx: z.RefinementCtx): void {
  for (const p of problems)
    ctx.addIssue({ code: "custom", message: p.message, path: p.path, params: { code: p.code } });
}

// A hand-written check instead of a recursive zod union: validation of big trees spends most of
// its time here, and the union is an order of magnitude slower.
export const jsonValueSchema = z.custom<JsonValue>().superRefine((v, ctx) => addJsonProblems(findJsonProblems(v), ctx));

export const jsonObjectSchema = z.custom<JsonObject>().superRefine((v, ctx) => {
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    ctx.addIssue({ code: "custom", message: "must be a JSON object", params: { code: "invalid_type" } });
    return;
  }
  addJsonProblems(findJsonProblems(v), ctx);
});

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
