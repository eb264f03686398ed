import type { TaskStore } from "../store/types.js";
import { executorIdOf } from "../tree/executor-id.js";
import type { Task } from "../types.js";
import { type BucketState, bucketKey, LimitGate, type LimitBlock, type LimitSubject, RuleBook } from "./gate.js";
import { bucketMap, nextRefillMs } from "./blocked.js";
import { limitsOf } from "./types.js";

/** Most tasks in progress read to answer "which limit holds it" (a deployment's running set). */
const RUNNING_READ = 100_000;

export function limitSubjectOf(task: Pick<Task, "userId" | "rootId" | "params" | "schemas">): LimitSubject {
  return { userId: task.userId, rootId: task.rootId, executor: executorIdOf(task).id };
}

/**
 * The limit that keeps an otherwise eligible task from starting now, read from the store: its
 * rules, the tasks in progress and the task's start-rate buckets (the claim's own inputs). Null
 * when the store has no limits, no rule applies or every limit has room.
 */
export async function limitBlockFor(store: TaskStore, task: Task, now: Date): Promise<LimitBlock | null> {
  const limits = limitsOf(store);
  if (!limits) return null;
  const rules = await limits.list();
  if (rules.length === 0) return null;
  const subject = limitSubjectOf(task);
  const [running, userBucket, executorBucket] = await Promise.all([
    store.listTasks({ status: "in_progress", limit: RUNNING_READ }),
    subject.userId === null ? null : limits.bucket("user", subject.userId),
    subject.executor === null ? null : limits.bucket("executor", subject.executor),
  ]);
  const buckets = new Map<string, BucketState>();
  if (userBucket && subject.userId !== null) buckets.set(bucketKey("user", subject.userId), userBucket);
  if (executorBucket && subject.executor !== null) buckets.set(bucketKey("executor", subject.executor), executorBucket);
  const gate = new LimitGate(new RuleBook(rules), running.tasks.map(limitSubjectOf), buckets, now.getTime());
  return gate.blockedBy(subject);
}

/**
 * The limit check of many tasks at once (a tree view): one read of the rules, the tasks in
 * progress and every stored bucket, then `blockedBy` per task, as `limitBlockFor` answers it
 * for one. Null when the store has no limits or no rules.
 */
export async function limitCheckFor(store: TaskStore, now: Date): Promise<((task: Task) => LimitBlock | null) | null> {
  const limits = limitsOf(store);
  if (!limits) return null;
  const rules = await limits.list();
  if (rules.length === 0) return null;
  const [running, buckets] = await Promise.all([
    store.listTasks({ status: "in_progress", limit: RUNNING_READ }),
    rules.some((r) => r.rate) ? limits.listBuckets() : [],
  ]);
  const gate = new LimitGate(new RuleBook(rules), running.tasks.map(limitSubjectOf), bucketMap(buckets), now.getTime());
  return (task) => gate.blockedBy(limitSubjectOf(task));
}

/**
 * When the next empty start-rate bucket has a token again (`nextRefillMs`), read from the store:
 * its rules, and its buckets the claim left empty. Null when no rate rule or no empty bucket.
 */
export async function nextRefillAt(store: TaskStore, now: Date): Promise<Date | null> {
  const limits = limitsOf(store);
  if (!limits) return null;
  const rules = await limits.list();
  if (!rules.some((r) => r.rate)) return null;
  const ms = nextRefillMs(rules, await limits.listBuckets({ emptyOnly: true }), now.getTime());
  return ms === null ? null : new Date(ms);
}

/** One line naming the rule and its key. */
export function describeLimitBlock(block: LimitBlock): string {
  const rule =
    block.ruleKey === undefined ? `the default ${block.scope} limit` : `the ${block.scope} limit for ${block.ruleKey}`;
  const whose = block.scope === "global" ? "" : ` (${block.scope} ${block.key})`;
  if (block.kind === "rate") {
    const rate = block.rule.rate;
    return `${rule}${whose}: at most ${rate?.starts} starts per ${rate?.perMs} ms, none left now`;
  }
  const max = block.kind === "maxRunningRoots" ? block.rule.maxRunningRoots : block.rule.maxRunning;
  return `${rule}${whose}: ${max} ${block.kind === "maxRunningRoots" ? "trees" : "tasks"} running at most, all taken`;
}
