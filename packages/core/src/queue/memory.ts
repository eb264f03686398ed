import { countLimitBlocked, type SubjectCount } from "../limits/blocked.js";
import type { MemoryLimitStore } from "../limits/memory.js";
import type { Row } from "../store/memory/row.js";
import { STATUS } from "../store/rules.js";
import { executorIdOf } from "../tree/executor-id.js";
import type { Execution } from "../types.js";
import { aggregateReady, type QueueStats, type QueueStatsQuery, type ReadyEntry } from "./types.js";

/**
 * MemoryStore's queue stats: one pass over the pending rows (the store hands them over through
 * its one-line `queueStats`). Readiness is the claim's: claimable, unresolved 0, a running
 * execution; due when `runAt` is not after `now`.
 */
export function memoryQueueStats(
  rows: ReadonlyMap<string, Row>,
  executions: { get(id: string): Execution | undefined },
  query: QueueStatsQuery,
  limits?: MemoryLimitStore,
): Promise<QueueStats> {
  const now = query.now.getTime();
  const ready: ReadyEntry[] = [];
  const rules = limits?.current() ?? [];
  const readySubjects = new Map<string, SubjectCount>();
  const running = new Map<string, SubjectCount>();
  const tally = (map: Map<string, SubjectCount>, t: Row["task"]) => {
    const executor = executorIdOf(t).id;
    const k = JSON.stringify([t.userId, t.rootId, executor]);
    const g = map.get(k);
    if (g) g.n++;
    else map.set(k, { userId: t.userId, rootId: t.rootId, executor, n: 1 });
  };
  let delayed = 0;
  for (const row of rows.values()) {
    const t = row.task;
    if (rules.length > 0 && t.status === "in_progress") tally(running, t);
    if (!STATUS.claimable.includes(t.status) || row.unresolved !== 0 || row.executionId === null) continue;
    if (query.userId !== undefined && t.userId !== query.userId) continue;
    const e = executions.get(row.executionId);
    if (e?.status !== "running") continue;
    const runAt = t.runAt === null ? 0 : Date.parse(t.runAt);
    if (runAt > now) {
      delayed++;
      continue;
    }
    let since = Math.max(Date.parse(e.createdAt), runAt);
    for (const dep of t.dependencies) {
      const done = rows.get(dep.id)?.task.completedAt;
      if (done) since = Math.max(since, Date.parse(done));
    }
    ready.push({ userId: t.userId, executorId: executorIdOf(t).id, readySince: since });
    if (rules.length > 0) tally(readySubjects, t);
  }
  const blocked =
    rules.length === 0 || !limits
      ? []
      : countLimitBlocked(rules, readySubjects.values(), running.values(), limits.buckets, now);
  return Promise.resolve(aggregateReady(ready, delayed, query, blocked));
}
