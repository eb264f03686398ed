import type { StoredBucket } from "./blocked.js";

/**
 * Concurrency and start-rate limits (docs/semantics.md#limits). Rules live in the store, so every
 * process sharing it obeys them; the store's claim enforces them (never process memory).
 */
export const LIMIT_SCOPES = ["global", "user", "root", "executor"] as const;
export type LimitScope = (typeof LIMIT_SCOPES)[number];

/** At most `starts` task starts per `perMs` milliseconds (a token bucket, refilled continuously). */
export interface StartRate {
  starts: number;
  perMs: number;
}

/**
 * One limit rule. Without `key` it is the scope's default (every user, every tree, every executor
 * without a rule of its own); with `key` (a user id, a root id, an executor id) it replaces the
 * default for that key entirely. `global` has no key.
 */
export interface LimitRule {
  scope: LimitScope;
  key?: string;
  /** Tasks running at once in this scope. */
  maxRunning?: number;
  /** `user` only: root trees with a task running at once. */
  maxRunningRoots?: number;
  /** `user` and `executor` only: task starts per interval (per user / per executor id). */
  rate?: StartRate;
}

export interface LimitQuery {
  scope?: LimitScope;
}

/**
 * The store's limits facet (`store.limits`): the rules the claim applies. The bucket state of
 * start-rate rules is the store's own (written by the claim), not part of this interface.
 */
export interface LimitStore {
  /** Create or replace the rule of (scope, key); the rule is validated first (`ValidationError`). */
  set(rule: LimitRule): Promise<LimitRule>;
  get(scope: LimitScope, key?: string): Promise<LimitRule | null>;
  /** Rules ordered by scope (global, user, root, executor), the default first, then by key. */
  list(query?: LimitQuery): Promise<LimitRule[]>;
  /** Whether a rule was there to delete. */
  delete(scope: LimitScope, key?: string): Promise<boolean>;
  /** The start-rate bucket of a user or executor id as the claim left it (null: never drawn from, full). */
  bucket(scope: "user" | "executor", key: string): Promise<{ tokens: number; refilledMs: number } | null>;
  /**
   * Every stored bucket (`emptyOnly`: those the claim left below one token, a superset of the
   * buckets empty now, since buckets only refill between claims). For the queue stats and the
   * engine's wake timer; bounded by the users and executors that started under a rate rule.
   */
  listBuckets(options?: { emptyOnly?: boolean }): Promise<StoredBucket[]>;
}

export interface WithLimits {
  readonly limits: LimitStore;
}

/** The store's limits facet, or undefined when the store has none. */
export function limitsOf(store: object): LimitStore | undefined {
  const facet = (store as Partial<WithLimits>).limits;
  return facet && typeof facet.set === "function" && typeof facet.list === "function" ? facet : undefined;
}

/** Scope order of `list` (and of the why-waiting check). */
export function scopeRank(scope: LimitScope): number {
  return LIMIT_SCOPES.indexOf(scope);
}

/** Sort rules as `list` returns them. */
export function sortRules(rules: LimitRule[]): LimitRule[] {
  return rules.sort(
    (a, b) => scopeRank(a.scope) - scopeRank(b.scope) || (a.key ?? "").localeCompare(b.key ?? "", "en"),
  );
}
