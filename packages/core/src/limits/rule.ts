import { z } from "zod";
import { ValidationError } from "../errors.js";
import { zodIssues } from "../schema/schema.js";
import { LIMIT_SCOPES, type LimitRule, type LimitScope } from "./types.js";

const count = z.number().int().min(1).max(1_000_000_000);

/** The wire shape of a rule (JSON-RPC, CLI, `APFLOW_LIMITS`), checked field by field. */
export const limitRuleSchema = z
  .strictObject({
    scope: z.enum(LIMIT_SCOPES),
    key: z.string().min(1).max(500).optional(),
    maxRunning: count.optional(),
    maxRunningRoots: count.optional(),
    rate: z.strictObject({ starts: count, perMs: z.number().int().min(1).max(31_536_000_000_000) }).optional(),
  })
  .superRefine((rule, ctx) => {
    const issue = (path: string, message: string) =>
      ctx.addIssue({ code: "custom", path: [path], message, params: { code: "invalid_rule" } });
    if (rule.scope === "global" && rule.key !== undefined) issue("key", "a global limit has no key");
    if (rule.maxRunningRoots !== undefined && rule.scope !== "user")
      issue("maxRunningRoots", "maxRunningRoots applies to the user scope only");
    if (rule.rate !== undefined && rule.scope !== "user" && rule.scope !== "executor")
      issue("rate", "rate applies to the user and executor scopes only");
    if (rule.maxRunning === undefined && rule.maxRunningRoots === undefined && rule.rate === undefined)
      issue("maxRunning", "a rule needs maxRunning, maxRunningRoots or rate");
  });

/** Validate a rule; a bad one is a `ValidationError` (-32602) naming each bad field. */
export function parseLimitRule(value: unknown, basePath = ""): LimitRule {
  const parsed = limitRuleSchema.safeParse(value);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, basePath));
  return normalizeRule(parsed.data as LimitRule);
}

/** Validate a (scope, key) address. */
export function parseLimitKey(scope: unknown, key: unknown): { scope: LimitScope; key: string | undefined } {
  const parsed = z
    .strictObject({ scope: z.enum(LIMIT_SCOPES), key: z.string().min(1).max(500).optional() })
    .safeParse({ scope, key });
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error));
  return { scope: parsed.data.scope, key: parsed.data.key };
}

/** A rule with only the fields it sets, in one field order (what every store returns). */
export function normalizeRule(rule: LimitRule): LimitRule {
  const out: LimitRule = { scope: rule.scope };
  if (rule.key !== undefined) out.key = rule.key;
  if (rule.maxRunning !== undefined) out.maxRunning = rule.maxRunning;
  if (rule.maxRunningRoots !== undefined) out.maxRunningRoots = rule.maxRunningRoots;
  if (rule.rate !== undefined) out.rate = { starts: rule.rate.starts, perMs: rule.rate.perMs };
  return out;
}

/** Parse `APFLOW_LIMITS`-style text: a JSON array of rules. Errors name `source`. */
export function parseLimitRules(text: string, source = "limits"): LimitRule[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new ValidationError([
      { path: source, code: "invalid_json", message: `${source} is not JSON: ${(err as Error).message}` },
    ]);
  }
  if (!Array.isArray(value)) {
    throw new ValidationError([
      { path: source, code: "invalid_type", message: `${source} must be a JSON array of rules` },
    ]);
  }
  const issues: ValidationError["errors"] = [];
  const rules: LimitRule[] = [];
  value.forEach((v, i) => {
    try {
      rules.push(parseLimitRule(v, `${source}[${i}]`));
    } catch (err) {
      issues.push(...(err as ValidationError).errors);
    }
  });
  if (issues.length > 0) throw new ValidationError(issues);
  return rules;
}
