import type { StoredBucket } from "./blocked.js";
import type { BucketState } from "./gate.js";
import { normalizeRule, parseLimitKey, parseLimitRule } from "./rule.js";
import { type LimitQuery, type LimitRule, type LimitScope, type LimitStore, sortRules } from "./types.js";

const id = (scope: LimitScope, key: string | undefined): string => `${scope}:${key ?? ""}`;

/** `LimitStore` in process memory (MemoryStore's `limits`), with the start-rate buckets its claim keeps. */
export class MemoryLimitStore implements LimitStore {
  private readonly rules = new Map<string, LimitRule>();
  /** Start-rate bucket state, written by MemoryStore's claim (`user:<id>` / `executor:<id>`). */
  readonly buckets = new Map<string, BucketState>();

  async set(rule: LimitRule): Promise<LimitRule> {
    const valid = parseLimitRule(rule);
    this.rules.set(id(valid.scope, valid.key), valid);
    return normalizeRule(valid);
  }

  async get(scope: LimitScope, key?: string): Promise<LimitRule | null> {
    const k = parseLimitKey(scope, key);
    const rule = this.rules.get(id(k.scope, k.key));
    return rule ? normalizeRule(rule) : null;
  }

  async list(query: LimitQuery = {}): Promise<LimitRule[]> {
    const out: LimitRule[] = [];
    for (const rule of this.rules.values())
      if (query.scope === undefined || rule.scope === query.scope) out.push(normalizeRule(rule));
    return sortRules(out);
  }

  async delete(scope: LimitScope, key?: string): Promise<boolean> {
    const k = parseLimitKey(scope, key);
    return this.rules.delete(id(k.scope, k.key));
  }

  async bucket(scope: "user" | "executor", key: string): Promise<BucketState | null> {
    const b = this.buckets.get(`${scope}:${key}`);
    return b ? { ...b } : null;
  }

  async listBuckets(options: { emptyOnly?: boolean } = {}): Promise<StoredBucket[]> {
    const out: StoredBucket[] = [];
    for (const [k, b] of this.buckets) {
      if (options.emptyOnly && b.tokens >= 1) continue;
      const i = k.indexOf(":");
      out.push({ scope: k.slice(0, i) as StoredBucket["scope"], key: k.slice(i + 1), ...b });
    }
    return out;
  }

  /** Every rule, for the claim (no copies: the claim only reads). */
  current(): LimitRule[] {
    return [...this.rules.values()];
  }
}
