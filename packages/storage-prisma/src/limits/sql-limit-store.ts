import {
  type LimitQuery,
  type LimitRule,
  type LimitScope,
  type LimitStore,
  normalizeRule,
  parseLimitKey,
  parseLimitRule,
  sortRules,
  type StoredBucket,
} from "@aipartnerupflow/core";
import type { SqlDatabase, SqlRow } from "../db/types.js";

const COLUMNS = "scope, key, max_running, max_running_roots, rate_starts, rate_per_ms";

/** Per database: the facet is stateless, one instance serves every caller of that store. */
const facets = new WeakMap<SqlDatabase, SqlLimitStore>();

/** The limits facet of the Prisma store (`store.limits`) on its database. */
export function sqlLimits(db: SqlDatabase): SqlLimitStore {
  let facet = facets.get(db);
  if (!facet) facets.set(db, (facet = new SqlLimitStore(db)));
  return facet;
}

/**
 * `LimitStore` on SQLite or PostgreSQL: table `limit_rules` (migration 0008; key '' is a scope's
 * default). The claim reads the table itself (src/sql/claim-limits.ts), so a rule set here holds
 * for every process on the database from its next claim on.
 */
export class SqlLimitStore implements LimitStore {
  constructor(private readonly db: SqlDatabase) {}

  async set(rule: LimitRule): Promise<LimitRule> {
    const valid = parseLimitRule(rule);
    await this.db.run(
      `INSERT INTO limit_rules (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (scope, key) DO UPDATE SET max_running = excluded.max_running,
         max_running_roots = excluded.max_running_roots, rate_starts = excluded.rate_starts, rate_per_ms = excluded.rate_per_ms`,
      [
        valid.scope,
        valid.key ?? "",
        valid.maxRunning ?? null,
        valid.maxRunningRoots ?? null,
        valid.rate?.starts ?? null,
        valid.rate?.perMs ?? null,
      ],
    );
    return valid;
  }

  async get(scope: LimitScope, key?: string): Promise<LimitRule | null> {
    const k = parseLimitKey(scope, key);
    const [row] = await this.db.all(`SELECT ${COLUMNS} FROM limit_rules WHERE scope = ? AND key = ?`, [
      k.scope,
      k.key ?? "",
    ]);
    return row ? ruleFromRow(row) : null;
  }

  async list(query: LimitQuery = {}): Promise<LimitRule[]> {
    const rows =
      query.scope === undefined
        ? await this.db.all(`SELECT ${COLUMNS} FROM limit_rules`)
        : await this.db.all(`SELECT ${COLUMNS} FROM limit_rules WHERE scope = ?`, [
            parseLimitKey(query.scope, undefined).scope,
          ]);
    return sortRules(rows.map(ruleFromRow));
  }

  async bucket(scope: "user" | "executor", key: string): Promise<{ tokens: number; refilledMs: number } | null> {
    const [row] = await this.db.all<{ tokens: unknown; refilled_ms: unknown }>(
      "SELECT tokens, refilled_ms FROM limit_buckets WHERE scope = ? AND key = ?",
      [scope, key],
    );
    return row ? { tokens: Number(row.tokens), refilledMs: Number(row.refilled_ms) } : null;
  }

  async listBuckets(options: { emptyOnly?: boolean } = {}): Promise<StoredBucket[]> {
    const rows = await this.db.all<{ scope: string; key: string; tokens: unknown; refilled_ms: unknown }>(
      `SELECT scope, key, tokens, refilled_ms FROM limit_buckets${options.emptyOnly ? " WHERE tokens < 1" : ""}`,
    );
    return rows.map((r) => ({
      scope: r.scope as StoredBucket["scope"],
      key: r.key,
      tokens: Number(r.tokens),
      refilledMs: Number(r.refilled_ms),
    }));
  }

  async delete(scope: LimitScope, key?: string): Promise<boolean> {
    const k = parseLimitKey(scope, key);
    return (await this.db.run("DELETE FROM limit_rules WHERE scope = ? AND key = ?", [k.scope, k.key ?? ""])) > 0;
  }
}

function num(v: unknown): number | undefined {
  return v === null || v === undefined ? undefined : Number(v);
}

function ruleFromRow(row: SqlRow): LimitRule {
  const rule: LimitRule = { scope: row.scope as LimitScope };
  if (row.key !== "") rule.key = row.key as string;
  const maxRunning = num(row.max_running);
  const maxRunningRoots = num(row.max_running_roots);
  const starts = num(row.rate_starts);
  const perMs = num(row.rate_per_ms);
  if (maxRunning !== undefined) rule.maxRunning = maxRunning;
  if (maxRunningRoots !== undefined) rule.maxRunningRoots = maxRunningRoots;
  if (starts !== undefined && perMs !== undefined) rule.rate = { starts, perMs };
  return normalizeRule(rule);
}
