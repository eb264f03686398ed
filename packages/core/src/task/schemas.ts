import { z } from "zod";
import { type JsonObject, type JsonValue, TASK_STATUSES } from "../types.js";

/** zod schemas for the task fields of docs/semantics.md#the-task, shared by tree validation, updates and the APIs. */

/**
 * How deep objects and arrays may nest in a JSON field of a task (inputs, params, schemas,
 * metadata, result, error details): the field itself is level 0, and levels above 100 are refused.
 */
export const MAX_JSON_DEPTH = 100;

/** Why a value is not acceptable JSON, and where (`path` relative to the value). */
export interface JsonProblem {
  path: Array<string | number>;
  code: "not_json" | "too_deep" | "ill_formed_string";
  message: string;
}

const nativeIsWellFormed = (String.prototype as { isWellFormed?: (this: string) => boolean }).isWellFormed;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Whether a string is well-formed UTF-16 (no lone surrogate). An ill-formed one cannot be stored
 * as UTF-8 without changing it (it would come back with U+FFFD), so every string field refuses it.
 */
export function isWellFormedString(value: string): boolean {
  return nativeIsWellFormed ? nativeIsWellFormed.call(value) : !LONE_SURROGATE.test(value);
}

function illFormedMessage(value: string, what: string): string {
  const at = value.search(LONE_SURROGATE);
  const unit = value.charCodeAt(at).toString(16).toUpperCase();
  return `${what} is not well-formed UTF-16: lone surrogate U+${unit} at index ${at} (it cannot be stored unchanged; send the character as a complete surrogate pair, or drop it)`;
}

/** How many problems one field reports at most (the rest would only repeat). */
const MAX_PROBLEMS_PER_FIELD = 20;

/**
 * Every reason `value` is not JSON a task field may hold (at most `max`), each with its path;
 * empty when it is fine. A value nested too deep is one problem, reported at the field itself.
 */
export function findJsonProblems(value: unknown, max = MAX_PROBLEMS_PER_FIELD): JsonProblem[] {
  const out: JsonProblem[] = [];
  if (!isFine(value, 0)) collect(value, 0, [], out, max);
  return out;
}

/** The first reason `value` is not JSON a task field may hold, or null when it is fine. */
export function findJsonProblem(value: unknown): JsonProblem | null {
  return findJsonProblems(value, 1)[0] ?? null;
}

/** Fast check, no allocation: whether `value` is JSON a task field may hold. */
function isFine(value: unknown, depth: number): boolean {
  if (value === null) return true;
  switch (typeof value) {
    case "boolean":
      return true;
    case "string":
      return isWellFormedString(value);
    case "number":
      return Number.isFinite(value);
    case "object": {
      if (depth > MAX_JSON_DEPTH) return false;
      if (Array.isArray(value)) {
        for (let i = 0; i < value.length; i++) if (!isFine(value[i], depth + 1)) return false;
        return true;
      }
      const proto = Object.getPrototypeOf(value);
      if (proto !== Object.prototype && proto !== null) return false;
      for (const key in value) {
        if (!isWellFormedString(key) || !isFine((value as Record<string, unknown>)[key], depth + 1)) return false;
      }
      return true;
    }
    default:
      return false;
  }
}

/** Records problems (only called once `isFine` said there is one); false once no more are wanted. */
function collect(
  value: unknown,
  depth: number,
  path: Array<string | number>,
  out: JsonProblem[],
  max: number,
): boolean {
  if (isFine(value, depth)) return true;
  const problem = (code: JsonProblem["code"], message: string): boolean => {
    out.push({ path: code === "too_deep" ? [] : [...path], code, message });
    return code !== "too_deep" && out.length < max;
  };
  switch (typeof value) {
    case "string":
      return problem("ill_formed_string", illFormedMessage(value, "string"));
    case "number":
      return problem("not_json", `${value} is not JSON: numbers must be finite`);
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
        if (
          !isWellFormedString(key) &&
          !problem("ill_formed_string", illFormedMessage(key, `key ${JSON.stringify(key)}`))
        )
          return false;
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
  return isFine(value, depth);
}

function addJsonProblems(problems: JsonProblem[], ctx: z.RefinementCtx): void {
  for (const p of problems)
    ctx.addIssue({ code: "custom", message: p.message, path: p.path, params: { code: p.code } });
}

/** Refines a string schema: ill-formed UTF-16 is refused (`ill_formed_string`). */
function wellFormed(value: string, ctx: z.RefinementCtx): void {
  if (!isWellFormedString(value)) {
    ctx.addIssue({
      code: "custom",
      message: illFormedMessage(value, "string"),
      params: { code: "ill_formed_string" },
    });
  }
}

/** A string schema that refuses ill-formed UTF-16 (a lone surrogate). */
export function textSchema(params?: Parameters<typeof z.string>[0]): z.ZodString {
  return z.string(params).superRefine(wellFormed);
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
  .superRefine(wellFormed)
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
    name: textSchema().min(1).optional(),
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
    retryOn: z.array(textSchema().min(1)).optional(),
    maxElapsedMs: z.number().int().min(0).optional(),
  })
  .strict();

export const taskErrorSchema = z.object({
  code: textSchema(),
  message: textSchema(),
  details: jsonValueSchema.optional(),
});

export const dependencyInputSchema = z.union([
  textSchema().min(1, "dependency reference must not be empty"),
  z
    .object({
      id: textSchema({ error: "dependency id must be a string" }).min(1, "dependency id must not be empty"),
      required: z.boolean().optional(),
    })
    .loose(),
]);

/** One task of a creation request (the flat array every surface accepts). */
export const taskInputSchema = z
  .object({
    id: textSchema().min(1, "id must not be empty").max(200).optional(),
    name: taskNameSchema,
    parentId: textSchema().min(1).nullable().optional(),
    userId: textSchema().nullable().optional(),
    priority: prioritySchema.optional(),
    dependencies: z.array(dependencyInputSchema).optional(),
    inputs: jsonObjectSchema.optional(),
    params: jsonObjectSchema.optional(),
    schemas: jsonObjectSchema.optional(),
    retry: retryPolicySchema.nullable().optional(),
    runAt: isoDateSchema.nullable().optional(),
    metadata: jsonObjectSchema.optional(),
    originalTaskId: textSchema().nullable().optional(),
    status: taskStatusSchema.optional(),
    result: jsonValueSchema.optional(),
    error: taskErrorSchema.nullable().optional(),
    progress: z.number().min(0).max(1).optional(),
    attempt: z.number().int().min(0).optional(),
    startedAt: isoDateSchema.nullable().optional(),
    completedAt: isoDateSchema.nullable().optional(),
  })
  .loose();
