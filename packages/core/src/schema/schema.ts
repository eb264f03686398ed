import { z } from "zod";
import type { ValidationIssue } from "../errors.js";
import type { JsonObject } from "../types.js";
import type { SchemaLike } from "../registry/types.js";

/** A schema in both forms: zod to validate, JSON Schema to describe (APIs, MCP, LLM prompts). */
export interface CompiledSchema {
  zod: z.ZodType;
  json: JsonObject;
}

export function isZodSchema(schema: unknown): schema is z.ZodType {
  return schema instanceof z.ZodType;
}

/** Compile a zod schema or a JSON Schema object. Throws a plain Error naming what is wrong. */
export function compileSchema(schema: SchemaLike): CompiledSchema {
  if (isZodSchema(schema)) {
    const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" }) as JsonObject;
    delete json.$schema;
    return { zod: schema, json };
  }
  return { zod: z.fromJSONSchema(schema as Parameters<typeof z.fromJSONSchema>[0]), json: schema };
}

export type SchemaCheck<T> = { ok: true; value: T } | { ok: false; issues: ValidationIssue[] };

/** Validate a value; issues carry paths prefixed with `basePath` (for example `tasks[2].inputs`). */
export function checkSchema<T = unknown>(schema: z.ZodType, value: unknown, basePath = ""): SchemaCheck<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, value: parsed.data as T };
  return { ok: false, issues: zodIssues(parsed.error, basePath) };
}

export function zodIssues(error: z.ZodError, basePath = ""): ValidationIssue[] {
  return error.issues.map((issue) => {
    // Custom checks name their own code (for example `too_deep`, `ill_formed_string`).
    const own = issue.code === "custom" ? (issue.params as { code?: unknown } | undefined)?.code : undefined;
    return {
      path: joinPath(basePath, issue.path),
      code: typeof own === "string" ? own : issue.code,
      message: issue.message,
    };
  });
}

export function joinPath(base: string, path: ReadonlyArray<PropertyKey>): string {
  let out = base;
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** The property names a JSON Schema object declares (used by the dependency-result merge). */
export function declaredProperties(json: JsonObject | null | undefined): string[] {
  const props = json?.properties;
  return props && typeof props === "object" && !Array.isArray(props) ? Object.keys(props) : [];
}
