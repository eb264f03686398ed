import { ErrorCode, LIMIT_SCOPES, limitRuleSchema } from "@aipartnerupflow/core";
import { z } from "zod";
import type { MethodDefinition } from "./methods.js";

/**
 * `limits.*`: concurrency and start-rate rules, enforced by the store's claim for every process
 * on the database (admins only when auth is on). Each method calls `ctx.service.limits` only.
 */

const scope = z.enum(LIMIT_SCOPES).describe("global | user | root | executor");
const key = z
  .string()
  .min(1)
  .max(500)
  .optional()
  .describe("user id, root id or executor id; omitted: the scope's default rule");
const address = z.strictObject({ scope, key });

export const limitRuleResult = z
  .object({
    scope,
    key: z.string().optional(),
    maxRunning: z.number().int().optional().describe("tasks running at once"),
    maxRunningRoots: z.number().int().optional().describe("user only: trees with a task running at once"),
    rate: z.object({ starts: z.number().int(), perMs: z.number().int() }).optional().describe("starts per interval"),
  })
  .describe("LimitRule");

const ERRORS = [ErrorCode.Unauthorized, ErrorCode.Unavailable] as const;

function define<P extends z.ZodType>(def: MethodDefinition<P>): MethodDefinition {
  return def as unknown as MethodDefinition;
}

export const LIMIT_METHODS: MethodDefinition[] = [
  define({
    name: "limits.set",
    summary: "Create or replace the limit rule of (scope, key)",
    params: limitRuleSchema.describe(
      "{scope, key?, maxRunning?, maxRunningRoots? (user), rate?: {starts, perMs} (user, executor)}; no key = the scope's default",
    ),
    result: limitRuleResult,
    errors: [...ERRORS],
    mcp: {
      tool: "set_limit",
      title: "Set a limit",
      description:
        "Limit tasks running at once (global, per user, per tree, per executor id) or task starts per interval (per user, per executor). Over a limit tasks wait, never fail.",
    },
    handler: (p, ctx) => ctx.service.limits.set(ctx.principal, p),
  }),
  define({
    name: "limits.get",
    summary: "The rule of (scope, key), or null",
    params: address,
    result: z.object({ rule: limitRuleResult.nullable() }),
    errors: [...ERRORS],
    handler: (p, ctx) => ctx.service.limits.get(ctx.principal, p.scope, p.key),
  }),
  define({
    name: "limits.list",
    summary: "Every limit rule (global, user, root, executor; defaults first)",
    params: z.strictObject({ scope: scope.optional() }),
    result: z.object({ rules: z.array(limitRuleResult) }),
    errors: [...ERRORS],
    mcp: { tool: "list_limits", title: "List limits", description: "The concurrency and start-rate limits in force." },
    handler: (p, ctx) => ctx.service.limits.list(ctx.principal, p.scope),
  }),
  define({
    name: "limits.delete",
    summary: "Delete the rule of (scope, key)",
    params: address,
    result: z.object({ deleted: z.boolean() }),
    errors: [...ERRORS],
    handler: (p, ctx) => ctx.service.limits.delete(ctx.principal, p.scope, p.key),
  }),
];
