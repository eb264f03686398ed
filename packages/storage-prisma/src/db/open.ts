import pg from "pg";
import type { DatabaseTarget } from "../config.js";
import { postgresDatabase } from "./postgres.js";
import { openSqlite, type SqliteOptions } from "./sqlite.js";
import type { SqlDatabase } from "./types.js";

export interface OpenedDatabase {
  db: SqlDatabase;
  /** PostgreSQL only: the pool, shared with the Prisma client. */
  pool: pg.Pool | null;
}

export function openDatabase(
  target: DatabaseTarget,
  options: SqliteOptions & { poolSize?: number } = {},
): OpenedDatabase {
  if (target.provider === "sqlite") return { db: openSqlite(target.path, options), pool: null };
  const pool = new pg.Pool({ connectionString: target.url, max: options.poolSize ?? 10 });
  // An idle client that errors (the server restarted) must not crash the process.
  pool.on("error", () => undefined);
  return { db: postgresDatabase(pool, true), pool };
}
