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
export type Slot = "now" | "nowMs" | "limit" | "window" | "executors" | "owner" | "expires" | "tags";

export class SqlBuilder {
  readonly slots: Slot[] = [];
  constructor(readonly d: Dialect) {}

  /** A placeholder for `slot`, typed on PostgreSQL. */
  p(slot: Slot): string {
    this.slots.push(slot);
    if (this.d === "sqlite") return "?";
    if (slot === "now" || slot === "expires") return "?::timestamptz";
    if (slot === "owner") return "?::text";
    if (slot === "tags") return "?::jsonb";
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
    const list =
      b.d === "postgres" ? `= ANY(${b.p("executors")})` : `IN (SELECT value FROM json_each(${b.p("executors")}))`;
    where += ` AND (t.executor IS NULL OR t.executor ${list})`;
  }
  return `${where}
      AND ${placementWhere(b)}`;
}

/**
 * The claim's placement rule (core's store rules, `HOLD_BEATS`): the task requires no tag the
 * claiming node lacks, and it is placed on no node, on this one, or on a node that does not hold
 * it (registered, heartbeating within `HOLD_BEATS` beats, not draining, a free slot at its last
 * beat). Tasks without placement pass on their two NULL columns; the registry is probed by
 * primary key only for a task placed on another node.
 */
function placementWhere(b: SqlBuilder): string {
  const beats = storeRules.HOLD_BEATS;
  if (!Number.isInteger(beats)) throw new Error("unexpected HOLD_BEATS");
  if (b.d === "postgres") {
    const tags = b.p("tags");
    const owner = b.p("owner");
    const now = b.p("now");
    return `(t.placement IS NULL OR COALESCE(t.placement -> 'requires', '[]'::jsonb) <@ ${tags})
      AND (t.placed_on IS NULL OR t.placed_on = ${owner} OR NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = t.placed_on
        AND n.heartbeat_at >= ${now} - n.heartbeat_ms * ${beats} * INTERVAL '1 millisecond'
        AND NOT n.draining AND n.running < n.concurrency))`;
  }
  const tags = b.p("tags");
  const owner = b.p("owner");
  const now = b.p("now");
  return `(t.placement IS NULL OR NOT EXISTS (SELECT 1 FROM json_each(t.placement, '$.requires') r
        WHERE r.value NOT IN (SELECT value FROM json_each(${tags}))))
      AND (t.placed_on IS NULL OR t.placed_on = ${owner} OR NOT EXISTS (SELECT 1 FROM nodes n WHERE n.node_id = t.placed_on
        AND (julianday(${now}) - julianday(n.heartbeat_at)) * 86400000.0 <= ${beats} * n.heartbeat_ms
        AND NOT n.draining AND n.running < n.concurrency))`;
}

const SCOPE_OF: Record<string, string> = { u: "user", e: "executor", r: "root" };

/**
 * A field of the rule in force for `key` in `alias`'s scope: the key's own rule (joined by
 * `ruleJoins` as `<alias>k`) if it has one, else the scope's default (a subquery run once), none
 * for a NULL key (a task without user or executor). Not `keyed`: the scope has no keyed rules
 * (and no join), only the default is read.
 */
function rule(alias: string, field: string, key: string, keyed = true): string {
  const scope = SCOPE_OF[alias] as string;
  return `(CASE ${keyed ? `WHEN ${alias}k.scope IS NOT NULL THEN ${alias}k.${field} ` : ""}WHEN ${key} IS NULL THEN NULL
    ELSE (SELECT ${field} FROM limit_rules WHERE scope = '${scope}' AND key = '') END)`;
}

/**
 * The key's own rule, looked up by primary key — and only when the scope has keyed rules at all
 * (a condition the planner evaluates once), so a claim under default rules probes nothing.
 */
function ruleJoins(alias: string, key: string): string {
  const scope = SCOPE_OF[alias] as string;
  return `LEFT JOIN limit_rules ${alias}k ON ${alias}k.scope = '${scope}' AND ${alias}k.key = ${key}
      AND EXISTS (SELECT 1 FROM limit_rules WHERE scope = '${scope}' AND key <> '')`;
}

/** The start-rate bucket of `key` (as `<bucket>`), probed only when the scope has a rate rule. */
function bucketJoin(alias: string, bucket: string, key: string): string {
  const scope = SCOPE_OF[alias] as string;
  return `LEFT JOIN limit_buckets ${bucket} ON ${bucket}.scope = '${scope}' AND ${bucket}.key = ${key}
      AND EXISTS (SELECT 1 FROM limit_rules WHERE scope = '${scope}' AND rate_starts IS NOT NULL)`;
}

/** Tokens in bucket `bucket` at the claim's `now` under the rule for `key` (NULL: no rate). */
function available(b: SqlBuilder, alias: string, bucket: string, key: string, keyed = true): string {
  const starts = rule(alias, "rate_starts", key, keyed);
  const per = rule(alias, "rate_per_ms", key, keyed);
  const real = b.d === "postgres" ? "DOUBLE PRECISION" : "REAL";
  const elapsed = b.greatest("0", `${b.p("nowMs")} - ${bucket}.refilled_ms`);
  return b.least(
    `${starts}`,
    `COALESCE(${bucket}.tokens + CAST(${elapsed} AS ${real}) * ${starts} / ${per}, ${starts})`,
  );
}

/**
 * Kinds of rules whose ranking stages a claim may leave out when no rule of that kind exists (the
 * user, executor and global stages are always there), and scopes without keyed rules, whose
 * rule lookups it leaves out. A statement built for a set of kinds is right
 * for every rule set whose kinds it includes; `KINDS_SQL` reads the kinds the rules have.
 */
export const KIND = { root: 1, userRoots: 2, rate: 4, userKeyed: 8, executorKeyed: 16, rootKeyed: 32 } as const;
export const ALL_KINDS = 63;

/** The kinds (`KIND` bits) of the rules in `limit_rules`, as one integer expression. */
export const KINDS_SQL = `(CASE WHEN EXISTS (SELECT 1 FROM limit_rules WHERE scope = 'root' AND max_running IS NOT NULL) THEN ${KIND.root} ELSE 0 END
    + CASE WHEN EXISTS (SELECT 1 FROM limit_rules WHERE scope = 'user' AND max_running_roots IS NOT NULL) THEN ${KIND.userRoots} ELSE 0 END
    + CASE WHEN EXISTS (SELECT 1 FROM limit_rules WHERE rate_starts IS NOT NULL) THEN ${KIND.rate} ELSE 0 END
    + CASE WHEN EXISTS (SELECT 1 FROM limit_rules WHERE scope = 'user' AND key <> '') THEN ${KIND.userKeyed} ELSE 0 END
    + CASE WHEN EXISTS (SELECT 1 FROM limit_rules WHERE scope = 'executor' AND key <> '') THEN ${KIND.executorKeyed} ELSE 0 END
    + CASE WHEN EXISTS (SELECT 1 FROM limit_rules WHERE scope = 'root' AND key <> '') THEN ${KIND.rootKeyed} ELSE 0 END)`;

/**
 * CTEs (without `WITH`) that end in `chosen (id, demo)`: at most `limit` tasks that fit every
 * limit. `gateExpr` is true when this branch should run (PostgreSQL: rules exist, of no kind
 * outside `kinds`, and the snapshot is fresh); `lock` the row-lock clause that takes the chosen
 * rows (PostgreSQL: only those are locked, not the whole window; a row another writer holds is
 * skipped). Stages of kinds outside `kinds` are left out: without root rules, user root limits
 * and rates they would pass every row, at the cost of planning and sorting them each claim.
 *
 * The ranking stages rank the running tasks together with the candidates, running ones first, so
 * a candidate fits a scope when its rank there is within the scope's maximum: no per-key counts
 * are joined to the candidates (the planner, which cannot estimate a CTE's rows, would join them
 * by nested loops), only the rules and buckets, by their primary key.
 */
export function limitedPick(
  b: SqlBuilder,
  allowList: boolean,
  gateExpr: string,
  lock: string,
  from: string,
  kinds: number = ALL_KINDS,
): string {
  const m = b.materialized();
  const roots = (kinds & KIND.root) !== 0;
  const userRoots = (kinds & KIND.userRoots) !== 0;
  const rate = (kinds & KIND.rate) !== 0;
  const keyed: Record<string, boolean> = {
    u: (kinds & KIND.userKeyed) !== 0,
    e: (kinds & KIND.executorKeyed) !== 0,
    r: (kinds & KIND.rootKeyed) !== 0,
  };
  const ruleK = (alias: string, field: string, key: string) => rule(alias, field, key, keyed[alias]);
  const joinK = (alias: string, key: string) => (keyed[alias] ? ruleJoins(alias, key) : "");
  const availK = (alias: string, bucket: string, key: string) => available(b, alias, bucket, key, keyed[alias]);
  const running = statusIn("status", [RUNNING]);
  const ONE = "0.999999999";
  const byRank = "ORDER BY running DESC, priority, ordinal";
  const blocked = [
    `SELECT 'u' AS s, x.k FROM ucount x ${joinK("u", "x.k")} WHERE x.n >= ${ruleK("u", "max_running", "x.k")}`,
    `SELECT 'e', x.k FROM ecount x ${joinK("e", "x.k")} WHERE x.n >= ${ruleK("e", "max_running", "x.k")}`,
  ];
  if (userRoots)
    blocked.push(
      `SELECT 'ur', x.k FROM ucount x ${joinK("u", "x.k")} WHERE x.roots >= ${ruleK("u", "max_running_roots", "x.k")}`,
    );
  if (roots)
    blocked.push(`SELECT 'r', x.k FROM rcount x ${joinK("r", "x.k")} WHERE x.n >= ${ruleK("r", "max_running", "x.k")}`);
  if (rate)
    blocked.push(
      `SELECT 'u', x.key FROM limit_buckets x ${joinK("u", "x.key")}
        WHERE x.scope = 'user' AND ${gateExpr} AND ${availK("u", "x", "x.key")} < ${ONE}`,
      `SELECT 'e', x.key FROM limit_buckets x ${joinK("e", "x.key")}
        WHERE x.scope = 'executor' AND ${gateExpr} AND ${availK("e", "x", "x.key")} < ${ONE}`,
    );
  // Built in the order of the statement's text: the placeholders are bound in that order.
  const cand = `cand AS (SELECT t.id, e.demo, t.user_id, t.root_id, t.executor, t.priority, t.ordinal ${from}
      WHERE ${gateExpr} AND ${readyWhere(b, allowList)}
        AND NOT EXISTS (SELECT 1 FROM gmax WHERE gmax.n <= (SELECT COUNT(*) FROM run))
        AND (t.user_id IS NULL OR t.user_id NOT IN (SELECT k FROM blocked WHERE s = 'u'))${
          userRoots
            ? `
        AND (t.user_id IS NULL OR t.user_id NOT IN (SELECT k FROM blocked WHERE s = 'ur') OR t.root_id IN (SELECT root_id FROM run))`
            : ""
        }${roots ? "\n        AND t.root_id NOT IN (SELECT k FROM blocked WHERE s = 'r')" : ""}
        AND (t.executor IS NULL OR t.executor NOT IN (SELECT k FROM blocked WHERE s = 'e'))
      ORDER BY t.priority, t.ordinal LIMIT ${b.p("window")})`;
  // The rule columns each candidate carries (running rows carry NULLs), then its rule lookups.
  const columns: [string, string][] = [["umr", ruleK("u", "max_running", "c.user_id")]];
  if (userRoots) columns.push(["umrr", ruleK("u", "max_running_roots", "c.user_id")]);
  if (rate) columns.push(["ut", b.whole(availK("u", "ub", "c.user_id"))]);
  if (roots) columns.push(["rmr", ruleK("r", "max_running", "c.root_id")]);
  columns.push(["emr", ruleK("e", "max_running", "c.executor")]);
  if (rate) columns.push(["et", b.whole(availK("e", "eb", "c.executor"))]);
  let joins = `${joinK("u", "c.user_id")}${rate ? ` ${bucketJoin("u", "ub", "c.user_id")}` : ""}`;
  if (roots) joins += ` ${joinK("r", "c.root_id")}`;
  joins += ` ${joinK("e", "c.executor")}${rate ? ` ${bucketJoin("e", "eb", "c.executor")}` : ""}`;

  // Each stage ranks the rows the previous stage's filter kept.
  const stages: string[] = [];
  let prev = "pool";
  let filter = "";
  const stage = (cols: string, window = "") => {
    const name = `s${stages.length + 1}`;
    stages.push(`${name} AS (SELECT ${prev}.*, ${cols} FROM ${prev}${filter ? ` WHERE ${filter}` : ""}${window})`);
    prev = name;
    filter = "";
  };
  if (roots) {
    stage(`ROW_NUMBER() OVER (PARTITION BY root_id ${byRank}) AS n1`);
    filter = "running = 1 OR rmr IS NULL OR n1 <= rmr";
  }
  if (userRoots) {
    stage(
      "MAX(running) OVER (PARTITION BY user_id, root_id) AS hr, FIRST_VALUE(priority) OVER w AS hp, FIRST_VALUE(ordinal) OVER w AS ho",
      ` WINDOW w AS (PARTITION BY user_id, root_id ${byRank})`,
    );
    stage("DENSE_RANK() OVER (PARTITION BY user_id ORDER BY hr DESC, hp, ho, root_id) AS n3");
    filter = "running = 1 OR umrr IS NULL OR hr = 1 OR n3 <= umrr";
  }
  stage(
    `ROW_NUMBER() OVER (PARTITION BY user_id ${byRank}) AS n4${rate ? ", SUM(running) OVER (PARTITION BY user_id) AS r4" : ""}`,
  );
  filter = `running = 1 OR ((umr IS NULL OR n4 <= umr)${rate ? " AND (ut IS NULL OR n4 - r4 <= ut)" : ""})`;
  stage(
    `ROW_NUMBER() OVER (PARTITION BY executor ${byRank}) AS n5${rate ? ", SUM(running) OVER (PARTITION BY executor) AS r5" : ""}`,
  );
  filter = `running = 1 OR ((emr IS NULL OR n5 <= emr)${rate ? " AND (et IS NULL OR n5 - r5 <= et)" : ""})`;
  // The global stage ranks the candidates alone: every running task comes before them (none is
  // ever filtered out), so a candidate's global rank is the running count plus its rank among
  // the candidates left — a window in the final order, sorted once with it.

  return `run AS ${m}(SELECT user_id, executor${roots || userRoots ? ", root_id" : ""} FROM tasks WHERE ${running} AND ${gateExpr}),
    ucount AS ${m}(SELECT user_id AS k, COUNT(*) AS n${userRoots ? ", COUNT(DISTINCT root_id) AS roots" : ""} FROM run WHERE user_id IS NOT NULL GROUP BY user_id),
    ecount AS ${m}(SELECT executor AS k, COUNT(*) AS n FROM run WHERE executor IS NOT NULL GROUP BY executor),
    ${roots ? `rcount AS ${m}(SELECT root_id AS k, COUNT(*) AS n FROM run GROUP BY root_id),` : ""}
    gmax AS ${m}(SELECT max_running AS n FROM limit_rules WHERE scope = 'global' AND key = '' AND ${gateExpr}),
    blocked AS ${m}(${blocked.join("\n      UNION ALL ")}),
    ${cand},
    pool AS (SELECT c.id, c.demo, c.user_id, c.root_id, c.executor, c.priority, c.ordinal, 0 AS running,
        ${columns.map(([name, expr]) => `${expr} AS ${name}`).join(", ")}
      FROM cand c ${joins}
      UNION ALL SELECT NULL, NULL, user_id, ${roots || userRoots ? "root_id" : "NULL"}, executor, -1, 0, 1, ${columns.map(() => "NULL").join(", ")} FROM run),
    ${stages.join(",\n    ")},
    fits AS (SELECT id, demo FROM (SELECT id, demo, priority, ordinal, ROW_NUMBER() OVER (ORDER BY priority, ordinal) AS n6
        FROM ${prev} WHERE running = 0 AND (${filter})) g
      WHERE NOT EXISTS (SELECT 1 FROM gmax) OR n6 + (SELECT COUNT(*) FROM run) <= (SELECT n FROM gmax)
      ORDER BY priority, ordinal LIMIT ${b.p("limit")}),
    chosen AS (SELECT t.id, f.demo FROM tasks t JOIN fits f ON f.id = t.id WHERE ${statusIn("t.status", STATUS.claimable)}${lock})`;
}

/**
 * The start tokens the claimed tasks (`source`: rows with `user_id`, `executor`) took: one bucket
 * per user / executor id under a rate rule, written as refilled at `now` minus what it started.
 * The rules are read by primary key from `limit_rules`.
 */
export function spendTokens(b: SqlBuilder, source: string): string {
  const part = (alias: string, scope: string, column: string) => {
    const key = `x.${column}`;
    const avail = available(b, alias, "bk", key);
    return `SELECT '${scope}', ${key}, MIN(${avail}) - COUNT(*), ${b.p("nowMs")}
      FROM ${source} x ${ruleJoins(alias, key)} ${bucketJoin(alias, "bk", key)}
      WHERE ${key} IS NOT NULL AND ${rule(alias, "rate_starts", key)} IS NOT NULL
        AND EXISTS (SELECT 1 FROM limit_rules WHERE scope = '${scope}' AND rate_starts IS NOT NULL) GROUP BY ${key}`;
  };
  return `INSERT INTO limit_buckets (scope, key, tokens, refilled_ms)
    ${part("u", "user", "user_id")}
    UNION ALL ${part("e", "executor", "executor")}
    ON CONFLICT (scope, key) DO UPDATE SET tokens = excluded.tokens, refilled_ms = excluded.refilled_ms`;
}
