import type { LimitBlockedGroup } from "../limits/blocked.js";
import type { TaskStore } from "../store/types.js";

/**
 * Queue statistics: a read facet beside `TaskStore` (stores that have it expose `queueStats`).
 * A task is **ready** when the claim would take it now: pending, every dependency resolved,
 * queued by a running execution, and due (`runAt` absent or not after `now`). It has been ready
 * since the latest of: its execution's start, its resolved dependencies' finish and its `runAt`
 * (a retry's backoff is its `runAt`). Every store computes exactly this (contract: queue-stats).
 */
export interface QueueStatsQuery {
  /** The clock of the caller (stores read no clock). */
  now: Date;
  /** Only this user's tasks (null: tasks without a user). */
  userId?: string | null;
  /** At most this many groups per breakdown, oldest ready first (default 50). */
  maxGroups?: number;
}

export interface QueueGroupStats {
  ready: number;
  /** ISO time since which the oldest ready task has been ready; null when none is ready. */
  oldestReadySince: string | null;
  /** `now` minus `oldestReadySince` in ms (0 when none is ready). */
  oldestReadyAgeMs: number;
}

export interface QueueStats extends QueueGroupStats {
  /** Queued, dependencies resolved, but `runAt` in the future (a delay or a retry backoff). */
  delayed: number;
  /** Per `userId` (null: no user), oldest ready first, at most `maxGroups`. */
  byUser: Array<QueueGroupStats & { userId: string | null }>;
  /** Per executor id (null: grouping tasks that name none), oldest ready first, at most `maxGroups`. */
  byExecutor: Array<QueueGroupStats & { executorId: string | null }>;
  /** Whether a breakdown was cut at `maxGroups`. */
  truncated: boolean;
  /**
   * Per limit rule, the ready tasks it keeps back now (their why-waiting reason is `limit` naming
   * that rule), scope order then key; rules that hold back none are left out, and it is empty
   * when the store has no limits facet or no rules. Counted among `ready` too.
   */
  limitBlocked: LimitBlockedGroup[];
}

export interface QueueStatsReader {
  queueStats(query: QueueStatsQuery): Promise<QueueStats>;
}

export const DEFAULT_MAX_GROUPS = 50;

/** The store's queue-stats facet, or null when it has none (a wrapper may forward `queueStats`). */
export function queueStatsOf(store: TaskStore): QueueStatsReader | null {
  const candidate = store as TaskStore & Partial<QueueStatsReader>;
  return typeof candidate.queueStats === "function"
    ? { queueStats: (q) => (candidate.queueStats as QueueStatsReader["queueStats"]).call(store, q) }
    : null;
}

/** One ready (or delayed) task as the stores' reads see it. */
export interface ReadyEntry {
  userId: string | null;
  executorId: string | null;
  /** ms since epoch. */
  readySince: number;
}

/**
 * Fold ready entries into the stats (shared by the stores that aggregate in code; SQL stores
 * aggregate in the database and call `finishStats`).
 */
export function aggregateReady(
  entries: Iterable<ReadyEntry>,
  delayed: number,
  query: QueueStatsQuery,
  limitBlocked: LimitBlockedGroup[] = [],
): QueueStats {
  const total: Group = { ready: 0, oldest: Number.POSITIVE_INFINITY };
  const users = new Map<string | null, Group>();
  const executors = new Map<string | null, Group>();
  for (const e of entries) {
    add(total, e.readySince);
    add(groupOf(users, e.userId), e.readySince);
    add(groupOf(executors, e.executorId), e.readySince);
  }
  return finishStats(
    { ready: total.ready, oldest: total.oldest },
    delayed,
    [...users].map(([userId, g]) => ({ key: userId, ...g })),
    [...executors].map(([executorId, g]) => ({ key: executorId, ...g })),
    query,
    limitBlocked,
  );
}

interface Group {
  ready: number;
  /** ms since epoch; +Infinity when empty. */
  oldest: number;
}

function groupOf(map: Map<string | null, Group>, key: string | null): Group {
  let g = map.get(key);
  if (!g) map.set(key, (g = { ready: 0, oldest: Number.POSITIVE_INFINITY }));
  return g;
}

function add(g: Group, since: number): void {
  g.ready++;
  if (since < g.oldest) g.oldest = since;
}

/** Turn aggregated figures into `QueueStats` (ordering and cutting the breakdowns). */
export function finishStats(
  total: Group,
  delayed: number,
  users: Array<Group & { key: string | null }>,
  executors: Array<Group & { key: string | null }>,
  query: QueueStatsQuery,
  limitBlocked: LimitBlockedGroup[] = [],
): QueueStats {
  const max = query.maxGroups ?? DEFAULT_MAX_GROUPS;
  const now = query.now.getTime();
  const shape = (g: Group): QueueGroupStats => {
    const some = g.ready > 0 && Number.isFinite(g.oldest);
    return {
      ready: g.ready,
      oldestReadySince: some ? new Date(g.oldest).toISOString() : null,
      oldestReadyAgeMs: some ? Math.max(0, now - g.oldest) : 0,
    };
  };
  const order = (a: Group & { key: string | null }, b: Group & { key: string | null }) =>
    a.oldest - b.oldest || b.ready - a.ready || String(a.key).localeCompare(String(b.key));
  users.sort(order);
  executors.sort(order);
  return {
    ...shape(total),
    delayed,
    byUser: users.slice(0, max).map((g) => ({ userId: g.key, ...shape(g) })),
    byExecutor: executors.slice(0, max).map((g) => ({ executorId: g.key, ...shape(g) })),
    truncated: users.length > max || executors.length > max,
    limitBlocked,
  };
}
