import type pg from "pg";
import { numberPlaceholders } from "./placeholders.js";
import type { SqlDatabase, SqlSession, SqlValue } from "./types.js";

/** Deadlocks and serialization failures are retried: the work is plain SQL, safe to run again. */
const MAX_ATTEMPTS = 5;
const RETRYABLE = new Set(["40P01", "40001"]);

function isRetryable(err: unknown): boolean {
  return typeof err === "object" && err !== null && RETRYABLE.has((err as { code?: string }).code ?? "");
}

const numbered = new Map<string, string>();

function toPostgres(sql: string): string {
  let text = numbered.get(sql);
  if (text === undefined) {
    text = numberPlaceholders(sql);
    numbered.set(sql, text);
  }
  return text;
}

/** Names of prepared statements (pg prepares a named statement once per connection). */
const names = new Map<string, string>();

function statementName(sql: string): string {
  let name = names.get(sql);
  if (name === undefined) {
    name = `apflow_${names.size + 1}`;
    names.set(sql, name);
  }
  return name;
}

function sessionOn(client: pg.Pool | pg.PoolClient): SqlSession {
  return {
    dialect: "postgres",
    async all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      const res = await client.query(toPostgres(sql), params as SqlValue[]);
      return res.rows as T[];
    },
    async values(sql: string, params: readonly SqlValue[] = [], prepared = false): Promise<unknown[][]> {
      const res = await client.query<unknown[]>({
        text: toPostgres(sql),
        values: params as SqlValue[],
        rowMode: "array",
        ...(prepared ? { name: statementName(sql) } : {}),
      });
      return res.rows;
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
      const res = await client.query(toPostgres(sql), params as SqlValue[]);
      return res.rowCount ?? 0;
    },
    async script(sql: string): Promise<void> {
      await client.query(sql);
    },
  };
}

/** A PostgreSQL pool behind the store's SQL interface. The pool is shared with Prisma. */
export function postgresDatabase(pool: pg.Pool, ownsPool: boolean): SqlDatabase {
  const direct = sessionOn(pool);
  return {
    dialect: "postgres",
    all: direct.all,
    values: direct.values,
    run: direct.run,
    script: direct.script,
    async transaction(work) {
      for (let attempt = 1; ; attempt++) {
        const client = await pool.connect();
        try {
          await client.query("BEGIN");
          const result = await work(sessionOn(client));
          await client.query("COMMIT");
          return result;
        } catch (err) {
          await client.query("ROLLBACK").catch(() => undefined);
          if (attempt < MAX_ATTEMPTS && isRetryable(err)) continue;
          throw err;
        } finally {
          client.release();
        }
      }
    },
    async close() {
      if (ownsPool) await pool.end();
    },
  };
}
