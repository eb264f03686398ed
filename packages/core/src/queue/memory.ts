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
): Promise<QueueStats> {
  const now = query.now.getTime();
  const ready: ReadyEntry[] = [];
  let delayed = 0;
  for (const row of rows.values()) {
    const t = row.task;
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
  }
  return Promise.resolve(aggregateReady(ready, delayed, query));
}
