import type { LimitRule, LimitScope, StartRate } from "./types.js";

/** What a limit sees of a task: who owns it, which tree, which executor. */
export interface LimitSubject {
  userId: string | null;
  rootId: string;
  /** The executor id (`executorIdOf`); null for a grouping task. */
  executor: string | null;
}

/** A start-rate bucket: tokens left at `refilledMs`. Keyed `user:<id>` or `executor:<id>`. */
export interface BucketState {
  tokens: number;
  refilledMs: number;
}

/** Which rule keeps a task waiting: its scope, the rule's key (absent: the default) and the task's key. */
export interface LimitBlock {
  scope: LimitScope;
  /** The rule's own key; undefined when the scope's default applies. */
  ruleKey: string | undefined;
  /** What the task is counted under: the user id, root id or executor id ("" for global). */
  key: string;
  kind: "maxRunning" | "maxRunningRoots" | "rate";
  /** The rule itself. */
  rule: LimitRule;
}

export const bucketKey = (scope: "user" | "executor", key: string): string => `${scope}:${key}`;

/** Tokens available at `nowMs` (a missing bucket is full); a bucket refills continuously. */
export function availableTokens(rate: StartRate, bucket: BucketState | undefined, nowMs: number): number {
  if (!bucket) return rate.starts;
  const refill = (Math.max(0, nowMs - bucket.refilledMs) * rate.starts) / rate.perMs;
  return Math.min(rate.starts, bucket.tokens + refill);
}

/** Floating-point slack: a bucket refilled to 0.9999999999 after exactly one interval has a token. */
const ONE_TOKEN = 1 - 1e-9;

/** The rules of one store, indexed: the default and the keyed rules of each scope. */
export class RuleBook {
  private readonly defaults = new Map<LimitScope, LimitRule>();
  private readonly keyed = new Map<string, LimitRule>();

  constructor(readonly rules: readonly LimitRule[]) {
    for (const rule of rules) {
      if (rule.key === undefined) this.defaults.set(rule.scope, rule);
      else this.keyed.set(`${rule.scope}:${rule.key}`, rule);
    }
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  /** The rule for `key` in `scope`: its own if it has one, else the scope's default. */
  ruleFor(scope: LimitScope, key: string): LimitRule | undefined {
    return this.keyed.get(`${scope}:${key}`) ?? this.defaults.get(scope);
  }
}

/**
 * The limits of one claim, applied task by task in claim order (MemoryStore's claim and the
 * why-waiting check): running counts taken from the tasks in progress, start-rate buckets from
 * the store. `admit` counts an admitted task at once, so one claim never overshoots.
 */
export class LimitGate {
  private total = 0;
  private readonly byUser = new Map<string, number>();
  private readonly rootsByUser = new Map<string, Set<string>>();
  private readonly byRoot = new Map<string, number>();
  private readonly byExecutor = new Map<string, number>();
  private readonly buckets = new Map<string, BucketState>();
  private readonly touched = new Set<string>();

  constructor(
    private readonly book: RuleBook,
    running: Iterable<LimitSubject>,
    buckets: ReadonlyMap<string, BucketState>,
    private readonly nowMs: number,
  ) {
    for (const t of running) this.count(t);
    for (const [k, b] of buckets) this.buckets.set(k, { ...b });
  }

  /** The first rule that keeps `t` from starting now, or null when every limit has room. */
  blockedBy(t: LimitSubject): LimitBlock | null {
    const { book } = this;
    const global = book.ruleFor("global", "");
    if (global?.maxRunning !== undefined && this.total >= global.maxRunning) {
      return { scope: "global", ruleKey: undefined, key: "", kind: "maxRunning", rule: global };
    }
    if (t.userId !== null) {
      const rule = book.ruleFor("user", t.userId);
      if (rule) {
        const block = (kind: LimitBlock["kind"]): LimitBlock => ({
          scope: "user",
          ruleKey: rule.key,
          key: t.userId as string,
          kind,
          rule,
        });
        if (rule.maxRunning !== undefined && (this.byUser.get(t.userId) ?? 0) >= rule.maxRunning)
          return block("maxRunning");
        const roots = this.rootsByUser.get(t.userId);
        if (rule.maxRunningRoots !== undefined && !roots?.has(t.rootId) && (roots?.size ?? 0) >= rule.maxRunningRoots)
          return block("maxRunningRoots");
        if (rule.rate && !this.hasToken(rule.rate, bucketKey("user", t.userId))) return block("rate");
      }
    }
    const root = book.ruleFor("root", t.rootId);
    if (root?.maxRunning !== undefined && (this.byRoot.get(t.rootId) ?? 0) >= root.maxRunning) {
      return { scope: "root", ruleKey: root.key, key: t.rootId, kind: "maxRunning", rule: root };
    }
    if (t.executor !== null) {
      const rule = book.ruleFor("executor", t.executor);
      if (rule) {
        const block = (kind: LimitBlock["kind"]): LimitBlock => ({
          scope: "executor",
          ruleKey: rule.key,
          key: t.executor as string,
          kind,
          rule,
        });
        if (rule.maxRunning !== undefined && (this.byExecutor.get(t.executor) ?? 0) >= rule.maxRunning)
          return block("maxRunning");
        if (rule.rate && !this.hasToken(rule.rate, bucketKey("executor", t.executor))) return block("rate");
      }
    }
    return null;
  }

  /** Admit `t` if every limit has room (counting it and taking its tokens); else the blocking rule. */
  admit(t: LimitSubject): LimitBlock | null {
    const block = this.blockedBy(t);
    if (block) return block;
    this.count(t);
    if (t.userId !== null) this.take(this.book.ruleFor("user", t.userId)?.rate, bucketKey("user", t.userId));
    if (t.executor !== null)
      this.take(this.book.ruleFor("executor", t.executor)?.rate, bucketKey("executor", t.executor));
    return null;
  }

  /** No task can start at all (the global limit is full): a claim may stop looking. */
  get full(): boolean {
    const global = this.book.ruleFor("global", "");
    return global?.maxRunning !== undefined && this.total >= global.maxRunning;
  }

  /** The buckets `admit` took tokens from, as they are now (to write back to the store). */
  changedBuckets(): Map<string, BucketState> {
    const out = new Map<string, BucketState>();
    for (const k of this.touched) out.set(k, { ...(this.buckets.get(k) as BucketState) });
    return out;
  }

  private hasToken(rate: StartRate, k: string): boolean {
    return availableTokens(rate, this.buckets.get(k), this.nowMs) >= ONE_TOKEN;
  }

  private take(rate: StartRate | undefined, k: string): void {
    if (!rate) return;
    const tokens = availableTokens(rate, this.buckets.get(k), this.nowMs) - 1;
    this.buckets.set(k, { tokens, refilledMs: this.nowMs });
    this.touched.add(k);
  }

  private count(t: LimitSubject): void {
    this.total++;
    this.byRoot.set(t.rootId, (this.byRoot.get(t.rootId) ?? 0) + 1);
    if (t.userId !== null) {
      this.byUser.set(t.userId, (this.byUser.get(t.userId) ?? 0) + 1);
      let roots = this.rootsByUser.get(t.userId);
      if (!roots) this.rootsByUser.set(t.userId, (roots = new Set()));
      roots.add(t.rootId);
    }
    if (t.executor !== null) this.byExecutor.set(t.executor, (this.byExecutor.get(t.executor) ?? 0) + 1);
  }
}
