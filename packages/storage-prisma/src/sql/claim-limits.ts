import { storeRules } from "@aipartnerupflow/core";
import type { Dialect } from "../db/types.js";
import { statusIn } from "./fragments.js";

/**
 * The claim's conditions beyond readiness, as SQL (docs/semantics.md#limits): a root's `runAt`
 * holds back its tree, the executors allow-list, and the limits of `limit_rules` (migration 0008).
 *
 * Running counts come from the tasks in progress (never counters), so every way a task stops
 * running frees its slot with no code of its own, and a crashed process leaks nothing. Under
 * limits the claim reads a window of candidates in priority-then-FIFO order from which every task
 * of a full user / tree / executor / empty bucket is filtered out first (so a blocked user's queue
 * never hides the next user's tasks), then ranks what is left scope by scope (root, the user's
 * root trees, user tasks and start tokens, executor tasks and start tokens, global) and keeps the
 * tasks that fit every scope. A claim never exceeds a limit; when several scopes bind at once it
 * may take fewer tasks than a task-by-task pass would (the next claim takes them), but it always
 * takes the first eligible task.
 */

const { STATUS, RUNNING } = storeRules;

/** Named parameters: the SQL is built once per variant, the values are bound per call in `slots` order. */
export type Slot = "now" | "nowMs" | "limit" | "window" | "executors" | "owner" | "expires";

export class SqlBuilder {
  readonly slots: Slot[] = [];
  constructor(readonly d: Dialect) {}

  /** A placeholder for `slot`, typed on PostgreSQL. */
  p(slot: Slot): string {
    this.slots.push(slot);
    if (this.d === "sqlite") return "?";
    if (slot === "now" || slot === "expires") return "?::timestamptz";
    if (slot === "owner") return "?::text";
    return slot === "executors" ? "?::text[]" : "?::bigint";
  }

  greatest(a: string, b: string): string {
    return this.d === "postgres" ? `GREATEST(${a}, ${b})` : `MAX(${a}, ${b})`;
  }

  least(a: string, b: string): string {
    return this.d === "postgres" ? `LEAST(${a}, ${b})` : `MIN(${a}, ${b})`;
  }

  /** Whole tokens in a (non-negative up to rounding) token count. */
  whole(x: string): string {
    return this.d === "postgres" ? `FLOOR(${x} + 1e-9)` : `CAST(${x} + 1e-9 AS INTEGER)`;
  }

  materialized(): string {
    return this.d === "postgres" ? "MATERIALIZED " : "";
  }
}

/** The readiness of `t` (joined to its execution `e`) as the claim reads it, with the claim's conditions. */
export function readyWhere(b: SqlBuilder, allowList: boolean): string {
  const now = b.p("now");
  const rootNow = b.p("now");
  let where = `${statusIn("t.status", STATUS.claimable)} AND t.unresolved = 0 AND (t.run_at IS NULL OR t.run_at <= ${now})
      AND (t.parent_id IS NULL OR NOT EXISTS (SELECT 1 FROM tasks r WHERE r.id = t.root_id AND r.user_run_at > ${rootNow}))`;
  if (allowList) {
    const list = b.d === "postgres" ? `= ANY(${b.p("executors")})` : `IN (SELECT value FROM json_each(${b.p("executors")}))`;
    where += ` AND (t.executor IS NULL OR t.executor ${list})`;
  }
  return where;
}

/** The rule in force for `alias`'s key in `scope`: its own (`<alias>k`) if any, else the default (`<alias>d`). */
function rule(alias: string, field: string): string {
  return `CASE WHEN ${alias}k.scope IS NULL THEN ${alias}d.${field} ELSE ${alias}k.${field} END`;
}

function ruleJoins(alias: string, scope: string, keyExpr: string, nullable: boolean): string {
  return `LEFT JOIN rules ${alias}k ON ${alias}k.scope = '${scope}' AND ${alias}k.key = ${keyExpr}
      LEFT JOIN rules ${alias}d ON ${alias}d.scope = '${scope}' AND ${alias}d.key = ''${nullable ? ` AND ${keyExpr} IS NOT NULL` : ""}`;
}

/** Tokens in bucket `bucket` at the claim's `now` under the rule of `alias` (NULL: no rate). */
function available(b: SqlBuilder, alias: string, bucket: string): string {
  const starts = rule(alias, "rate_starts");
  const per = rule(alias, "rate_per_ms");
  const real = b.d === "postgres" ? "DOUBLE PRECISION" : "REAL";
  const elapsed = b.greatest("0", `${b.p("nowMs")} - ${bucket}.refilled_ms`);
  return b.least(`${starts}`, `COALESCE(${bucket}.tokens + CAST(${elapsed} AS ${real}) * ${starts} / ${per}, ${starts})`);
}

/**
 * CTEs (without `WITH`) that end in `chosen (id, demo)`: at most `limit` tasks that fit every
 * limit. `gateExpr` is true when this branch should run (PostgreSQL: rules exist and the snapshot
 * is fresh); `lock` the row-lock clause of the candidate scan.
 */
export function limitedPick(b: SqlBuilder, allowList: boolean, gateExpr: string, lock: string, from: string): string {
  const m = b.materialized();
  const running = statusIn("status", [RUNNING]);
  const ONE = "0.999999999";
  return `rules AS ${m}(SELECT scope, key, max_running, max_running_roots, rate_starts, rate_per_ms FROM limit_rules WHERE ${gateExpr}),
    run AS ${m}(SELECT user_id, executor, root_id FROM tasks WHERE ${running} AND ${gateExpr}),
    ucount AS ${m}(SELECT user_id AS k, COUNT(*) AS n, COUNT(DISTINCT root_id) AS roots FROM run WHERE user_id IS NOT NULL GROUP BY user_id),
    ecount AS ${m}(SELECT executor AS k, COUNT(*) AS n FROM run WHERE executor IS NOT NULL GROUP BY executor),
    rcount AS ${m}(SELECT root_id AS k, COUNT(*) AS n FROM run GROUP BY root_id),
    gfree AS ${m}(SELECT g.max_running - (SELECT COUNT(*) FROM run) AS free FROM rules g WHERE g.scope = 'global' AND g.key = ''),
    blocked AS ${m}(
      SELECT 'u' AS s, x.k FROM ucount x ${ruleJoins("u", "user", "x.k", false)} WHERE x.n >= ${rule("u", "max_running")}
      UNION ALL SELECT 'ur', x.k FROM ucount x ${ruleJoins("u", "user", "x.k", false)} WHERE x.roots >= ${rule("u", "max_running_roots")}
      UNION ALL SELECT 'e', x.k FROM ecount x ${ruleJoins("e", "executor", "x.k", false)} WHERE x.n >= ${rule("e", "max_running")}
      UNION ALL SELECT 'r', x.k FROM rcount x ${ruleJoins("r", "root", "x.k", false)} WHERE x.n >= ${rule("r", "max_running")}
      UNION ALL SELECT 'u', x.key FROM limit_buckets x ${ruleJoins("u", "user", "x.key", false)}
        WHERE x.scope = 'user' AND ${gateExpr} AND ${available(b, "u", "x")} < ${ONE}
      UNION ALL SELECT 'e', x.key FROM limit_buckets x ${ruleJoins("e", "executor", "x.key", false)}
        WHERE x.scope = 'executor' AND ${gateExpr} AND ${available(b, "e", "x")} < ${ONE}),
    cand AS (SELECT t.id, e.demo, t.user_id, t.root_id, t.executor, t.priority, t.ordinal ${from}
      WHERE ${gateExpr} AND ${readyWhere(b, allowList)}
        AND NOT EXISTS (SELECT 1 FROM gfree WHERE free <= 0)
        AND (t.user_id IS NULL OR t.user_id NOT IN (SELECT k FROM blocked WHERE s = 'u'))
        AND (t.user_id IS NULL OR t.user_id NOT IN (SELECT k FROM blocked WHERE s = 'ur') OR t.root_id IN (SELECT root_id FROM run))
        AND t.root_id NOT IN (SELECT k FROM blocked WHERE s = 'r')
        AND (t.executor IS NULL OR t.executor NOT IN (SELECT k FROM blocked WHERE s = 'e'))
      ORDER BY t.priority, t.ordinal LIMIT ${b.p("window")}${lock}),
    c1 AS (SELECT c.*,
        ${rule("u", "max_running")} - COALESCE(uc.n, 0) AS uf,
        ${rule("u", "max_running_roots")} - COALESCE(uc.roots, 0) AS urf,
        ${b.whole(available(b, "u", "ub"))} AS ut,
        ${rule("r", "max_running")} - COALESCE(rc.n, 0) AS rf,
        ${rule("e", "max_running")} - COALESCE(ec.n, 0) AS ef,
        ${b.whole(available(b, "e", "eb"))} AS et,
        (SELECT free FROM gfree) AS gf,
        CASE WHEN c.root_id IN (SELECT root_id FROM run) THEN 0 ELSE 1 END AS nr
      FROM cand c
      ${ruleJoins("u", "user", "c.user_id", true)}
      LEFT JOIN ucount uc ON uc.k = c.user_id
      LEFT JOIN limit_buckets ub ON ub.scope = 'user' AND ub.key = c.user_id
      ${ruleJoins("r", "root", "c.root_id", false)}
      LEFT JOIN rcount rc ON rc.k = c.root_id
      ${ruleJoins("e", "executor", "c.executor", true)}
      LEFT JOIN ecount ec ON ec.k = c.executor
      LEFT JOIN limit_buckets eb ON eb.scope = 'executor' AND eb.key = c.executor),
    s1 AS (SELECT c1.*, ROW_NUMBER() OVER (PARTITION BY root_id ORDER BY priority, ordinal) AS n1 FROM c1),
    s2 AS (SELECT s1.*, FIRST_VALUE(priority) OVER w AS hp, FIRST_VALUE(ordinal) OVER w AS ho FROM s1
      WHERE rf IS NULL OR n1 <= rf WINDOW w AS (PARTITION BY user_id, root_id ORDER BY priority, ordinal)),
    s3 AS (SELECT s2.*, DENSE_RANK() OVER (PARTITION BY user_id, nr ORDER BY hp, ho) AS n3 FROM s2),
    s4 AS (SELECT s3.*, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY priority, ordinal) AS n4 FROM s3
      WHERE urf IS NULL OR nr = 0 OR n3 <= urf),
    s5 AS (SELECT s4.*, ROW_NUMBER() OVER (PARTITION BY executor ORDER BY priority, ordinal) AS n5 FROM s4
      WHERE (uf IS NULL OR n4 <= uf) AND (ut IS NULL OR n4 <= ut)),
    s6 AS (SELECT s5.*, ROW_NUMBER() OVER (ORDER BY priority, ordinal) AS n6 FROM s5
      WHERE (ef IS NULL OR n5 <= ef) AND (et IS NULL OR n5 <= et)),
    chosen AS (SELECT id, demo FROM s6 WHERE gf IS NULL OR n6 <= gf ORDER BY priority, ordinal LIMIT ${b.p("limit")})`;
}

/**
 * The start tokens the claimed tasks (`source`: rows with `user_id`, `executor`) took: one bucket
 * per user / executor id under a rate rule, written as refilled at `now` minus what it started.
 * Needs the `rules` CTE (PostgreSQL: in the claim's statement) or a WITH of its own (SQLite).
 */
export function spendTokens(b: SqlBuilder, source: string): string {
  const part = (alias: string, scope: string, column: string) => {
    const avail = available(b, alias, "bk");
    return `SELECT '${scope}', x.${column}, MIN(${avail}) - COUNT(*), ${b.p("nowMs")}
      FROM ${source} x ${ruleJoins(alias, scope, `x.${column}`, true)}
      LEFT JOIN limit_buckets bk ON bk.scope = '${scope}' AND bk.key = x.${column}
      WHERE x.${column} IS NOT NULL AND ${rule(alias, "rate_starts")} IS NOT NULL GROUP BY x.${column}`;
  };
  return `INSERT INTO limit_buckets (scope, key, tokens, refilled_ms)
    ${part("u", "user", "user_id")}
    UNION ALL ${part("e", "executor", "executor")}
    ON CONFLICT (scope, key) DO UPDATE SET tokens = excluded.tokens, refilled_ms = excluded.refilled_ms`;
}
