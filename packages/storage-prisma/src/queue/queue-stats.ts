import {
  bucketMap,
  countLimitBlocked,
  finishStats,
  type LimitBlockedGroup,
  type LimitRule,
  type LimitStore,
  type QueueStats,
  type QueueStatsQuery,
  type SubjectCount,
  storeRules,
} from "@aipartnerupflow/core";
import type { Dialect, SqlSession, SqlValue } from "../db/types.js";
import { readTime } from "../store/rows.js";
import { statusIn, timeParam, unindexed } from "../sql/fragments.js";

const { STATUS } = storeRules;

/**
 * The queue-stats facet on SQL (core's `QueueStatsReader`): two aggregate statements over the
 * ready index's range (pending, `unresolved = 0`) joined to the running executions, the claim's
 * own condition. Ready since = the latest of the execution's start, the task's `runAt` and its
 * dependencies' finish; grouped per (user, executor) in the database, folded per user and per
 * executor here. Cost: proportional to the pending, resolved tasks of running executions.
 */
function executorExpr(d: Dialect): string {
  return d === "postgres"
    ? "COALESCE(t.params->>'executorId', t.schemas->>'method')"
    : "COALESCE(json_extract(t.params, '$.executorId'), json_extract(t.schemas, '$.method'))";
}

function sinceExpr(d: Dialect): string {
  const deps = `(SELECT MAX(up.completed_at) FROM task_dependencies dep JOIN tasks up ON up.id = dep.depends_on_id
      WHERE dep.task_id = t.id)`;
  // SQLite's scalar MAX is NULL when any argument is; PostgreSQL's GREATEST skips NULLs.
  return d === "postgres"
    ? `GREATEST(e.created_at, t.run_at, ${deps})`
    : `MAX(e.created_at, COALESCE(t.run_at, e.created_at), COALESCE(${deps}, e.created_at))`;
}

function base(d: Dialect, userFilter: string): string {
  return `FROM tasks t JOIN executions e ON e.id = ${unindexed(d, "t.execution_id")} AND e.status = 'running'
    WHERE ${statusIn("t.status", STATUS.claimable)} AND t.unresolved = 0${userFilter}`;
}

interface GroupRow {
  user_id: string | null;
  executor: unknown;
  n: unknown;
  since: unknown;
}

interface SubjectRow {
  user_id: string | null;
  root_id?: string;
  executor: string | null;
  n: unknown;
}

const subjects = (rows: SubjectRow[]): SubjectCount[] =>
  rows.map((r) => ({ userId: r.user_id, rootId: r.root_id ?? "", executor: r.executor, n: Number(r.n) }));

/**
 * What the limit-blocked counts add to the ready-group statement: with limit rules its groups
 * are also split by the `executor` column the claim counts by (the same id as the JSON
 * expression, so no more groups) and, only when a root rule or `maxRunningRoots` exists, by tree.
 */
function limitGrouping(rules: readonly LimitRule[]): { select: string; group: string; byRoot: boolean } {
  if (rules.length === 0) return { select: "", group: "", byRoot: false };
  const byRoot = rules.some((r) => r.scope === "root" || r.maxRunningRoots !== undefined);
  return {
    select: `, t.executor AS lim_executor${byRoot ? ", t.root_id" : ""}`,
    group: `, t.executor${byRoot ? ", t.root_id" : ""}`,
    byRoot,
  };
}

/**
 * The ready tasks each limit rule keeps back (core's `countLimitBlocked`, the why-waiting gate),
 * from the ready groups, one grouped read of the tasks in progress and the stored buckets when a
 * rule has a rate. Cost beyond the statement without rules: one pass over the tasks in progress.
 */
async function limitBlocked(
  db: SqlSession,
  limits: LimitStore,
  rules: readonly LimitRule[],
  ready: SubjectCount[],
  byRoot: boolean,
  nowMs: number,
): Promise<LimitBlockedGroup[]> {
  const rootCol = byRoot ? ", root_id" : "";
  const [running, buckets] = await Promise.all([
    db.all<SubjectRow>(
      `SELECT user_id, executor${rootCol}, COUNT(*) AS n FROM tasks
        WHERE ${statusIn("status", ["in_progress"])} GROUP BY user_id, executor${rootCol}`,
    ),
    rules.some((r) => r.rate) ? limits.listBuckets() : Promise.resolve([]),
  ]);
  return countLimitBlocked(rules, ready, subjects(running), bucketMap(buckets), nowMs);
}

export async function queueStats(db: SqlSession, query: QueueStatsQuery, limits?: LimitStore): Promise<QueueStats> {
  const d = db.dialect;
  const now = timeParam(d);
  const userParams: SqlValue[] = [];
  let userFilter = "";
  if (query.userId === null) userFilter = " AND t.user_id IS NULL";
  else if (query.userId !== undefined) {
    userFilter = " AND t.user_id = ?";
    userParams.push(query.userId);
  }
  const rules = limits ? await limits.list() : [];
  const lim = limitGrouping(rules);
  const groups = await db.all<GroupRow & { lim_executor?: string | null; root_id?: string }>(
    `SELECT t.user_id, ${executorExpr(d)} AS executor, COUNT(*) AS n, MIN(${sinceExpr(d)}) AS since${lim.select}
      ${base(d, userFilter)} AND (t.run_at IS NULL OR t.run_at <= ${now})
      GROUP BY t.user_id, ${executorExpr(d)}${lim.group}`,
    [...userParams, query.now],
  );
  const [delayedRow] = await db.all<{ n: unknown }>(
    `SELECT COUNT(*) AS n ${base(d, userFilter)} AND t.run_at > ${now}`,
    [...userParams, query.now],
  );

  type Group = { key: string | null; ready: number; oldest: number };
  const total = { ready: 0, oldest: Number.POSITIVE_INFINITY };
  const users = new Map<string | null, Group>();
  const executors = new Map<string | null, Group>();
  const fold = (map: Map<string | null, Group>, key: string | null, n: number, since: number) => {
    let g = map.get(key);
    if (!g) map.set(key, (g = { key, ready: 0, oldest: Number.POSITIVE_INFINITY }));
    g.ready += n;
    g.oldest = Math.min(g.oldest, since);
  };
  for (const row of groups) {
    const n = Number(row.n);
    const since = Date.parse(readTime(row.since) as string);
    const executor = row.executor === null || row.executor === undefined ? null : String(row.executor);
    total.ready += n;
    total.oldest = Math.min(total.oldest, since);
    fold(users, row.user_id, n, since);
    fold(executors, executor, n, since);
  }
  const ready: SubjectCount[] = groups.map((r) => ({
    userId: r.user_id,
    rootId: r.root_id ?? "",
    executor: r.lim_executor ?? null,
    n: Number(r.n),
  }));
  const blocked =
    limits && rules.length > 0 ? await limitBlocked(db, limits, rules, ready, lim.byRoot, query.now.getTime()) : [];
  return finishStats(total, Number(delayedRow?.n ?? 0), [...users.values()], [...executors.values()], query, blocked);
}
