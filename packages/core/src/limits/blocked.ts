import { type BucketState, bucketKey, LimitGate, type LimitSubject, RuleBook } from "./gate.js";
import { type LimitRule, type LimitScope, scopeRank } from "./types.js";

/** Tasks that share a limit subject (same user, tree and executor), with how many there are. */
export interface SubjectCount extends LimitSubject {
  n: number;
}

/** Ready tasks one rule keeps back now (`tasks.queue.stats` `limitBlocked`, gauge `apflow_queue_limit_blocked_tasks`). */
export interface LimitBlockedGroup {
  scope: LimitScope;
  /** The rule's own key; null for the scope's default (and for `global`). */
  key: string | null;
  /** Ready (due, eligible) tasks this rule holds back: their why-waiting reason is `limit` naming it. */
  blocked: number;
}

/** A stored start-rate bucket with its owner (`LimitStore.listBuckets`). */
export interface StoredBucket extends BucketState {
  scope: "user" | "executor";
  key: string;
}

export function bucketMap(buckets: Iterable<StoredBucket>): Map<string, BucketState> {
  const out = new Map<string, BucketState>();
  for (const b of buckets) out.set(bucketKey(b.scope, b.key), { tokens: b.tokens, refilledMs: b.refilledMs });
  return out;
}

function* expand(groups: Iterable<SubjectCount>): Iterable<LimitSubject> {
  for (const g of groups) for (let i = 0; i < g.n; i++) yield g;
}

/**
 * Count the ready tasks each rule keeps back, with the why-waiting check's own gate
 * (`LimitGate.blockedBy`, see why.ts): a task counts under the first rule that has no room for
 * it now. While a rule still has room, the tasks it will admit and those behind them are not
 * counted (each of them, asked alone, is `queued`). Grouped inputs keep the cost to the number
 * of distinct (user, tree, executor) subjects.
 */
export function countLimitBlocked(
  rules: readonly LimitRule[],
  ready: Iterable<SubjectCount>,
  running: Iterable<SubjectCount>,
  buckets: ReadonlyMap<string, BucketState>,
  nowMs: number,
): LimitBlockedGroup[] {
  if (rules.length === 0) return [];
  const gate = new LimitGate(new RuleBook(rules), expand(running), buckets, nowMs);
  const out = new Map<string, LimitBlockedGroup>();
  for (const g of ready) {
    const block = gate.blockedBy(g);
    if (!block) continue;
    const key = block.ruleKey ?? null;
    const id = `${block.scope}:${key === null ? "" : `=${key}`}`;
    const found = out.get(id);
    if (found) found.blocked += g.n;
    else out.set(id, { scope: block.scope, key, blocked: g.n });
  }
  return [...out.values()].sort(
    (a, b) => scopeRank(a.scope) - scopeRank(b.scope) || (a.key ?? "").localeCompare(b.key ?? "", "en"),
  );
}

/** Tokens below one at which a bucket cannot start a task (the gate's own slack). */
const ONE_TOKEN = 1 - 1e-9;

/**
 * The earliest time after `nowMs` at which an empty start-rate bucket has a token again, under
 * the rule that governs it now (a bucket whose key no rate rule covers any more is ignored).
 * Null when no bucket is empty. The engine's wake timer arms for it: a task held back only by
 * the bucket is claimed when it refills, not at the next poll.
 */
export function nextRefillMs(
  rules: readonly LimitRule[],
  buckets: Iterable<StoredBucket>,
  nowMs: number,
): number | null {
  const book = new RuleBook(rules);
  let next = Number.POSITIVE_INFINITY;
  for (const b of buckets) {
    const rate = book.ruleFor(b.scope, b.key)?.rate;
    if (!rate) continue;
    const elapsed = Math.max(0, nowMs - b.refilledMs);
    const tokens = Math.min(rate.starts, b.tokens + (elapsed * rate.starts) / rate.perMs);
    if (tokens >= ONE_TOKEN) continue;
    const at = Math.max(b.refilledMs, nowMs) + Math.ceil(((ONE_TOKEN - tokens) * rate.perMs) / rate.starts);
    if (at < next) next = at;
  }
  return Number.isFinite(next) ? next : null;
}
