import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "libsql";
import { Mutex } from "./mutex.js";
import type { SqlDatabase, SqlSession, SqlValue } from "./types.js";

export interface SqliteOptions {
  /** `normal` (default): WAL, every commit survives a process crash. `full`: also an OS crash. */
  durability?: "normal" | "full";
  /** How long a writer waits for another process's write lock. */
  busyTimeoutMs?: number;
}

/** What the store uses of a prepared statement. */
interface Statement {
  all(...params: Bindable[]): unknown[];
  raw(on?: boolean): Statement;
  run(...params: Bindable[]): { changes: number };
}
type Bindable = string | number | bigint | null;

/** Prisma's SQLite timestamp format: ISO-8601 with an explicit UTC offset. */
export function sqliteTime(date: Date): string {
  return date.toISOString().replace("Z", "+00:00");
}

function bind(params: readonly SqlValue[]): Bindable[] {
  return params.map((p) => {
    if (p instanceof Date) return sqliteTime(p);
    if (typeof p === "boolean") return p ? 1 : 0;
    return p;
  });
}

/**
 * One connection to a SQLite file in WAL mode. Every statement goes through the process-wide
 * mutex, so a transaction's statements never interleave with another caller's.
 */
export function openSqlite(path: string, options: SqliteOptions = {}): SqlDatabase {
  if (path !== ":memory:") mkdirSync(dirname(path), { recursive: true });
  const db = new Database(path);
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  db.pragma("journal_mode = WAL");
  db.pragma(`synchronous = ${options.durability === "full" ? "FULL" : "NORMAL"}`);
  db.pragma("foreign_keys = OFF");
  // A page cache that holds the hot part of a large tree (the default is 2 MiB; this is a cap,
  // allocated as used), and a checkpoint every ~40 MiB of WAL instead of every ~4 MiB: fewer
  // checkpoints (each one copies pages back into the database file and, in NORMAL, syncs it), and
  // a page written by many transactions in between is copied once. After a checkpoint the WAL
  // file is truncated back to at most 64 MiB.
  db.pragma("cache_size = -65536");
  db.pragma("wal_autocheckpoint = 10000");
  db.pragma("journal_size_limit = 67108864");
  const statements = new Map<string, Statement>();
  /** The same SQL prepared in raw mode (rows as arrays): libsql's mode is per statement. */
  const rawStatements = new Map<string, Statement>();
  const mutex = new Mutex();

  const prepare = (sql: string): Statement => {
    let stmt = statements.get(sql);
    if (!stmt) {
      stmt = db.prepare(sql) as unknown as Statement;
      statements.set(sql, stmt);
    }
    return stmt;
  };

  const prepareRaw = (sql: string): Statement => {
    let stmt = rawStatements.get(sql);
    if (!stmt) {
      stmt = (db.prepare(sql) as unknown as Statement).raw(true);
      rawStatements.set(sql, stmt);
    }
    return stmt;
  };

  const session: SqlSession = {
    dialect: "sqlite",
    async all<T extends object>(sql: string, params: readonly SqlValue[] = []): Promise<T[]> {
      return prepare(sql).all(...bind(params)) as T[];
    },
    async values(sql: string, params: readonly SqlValue[] = []): Promise<unknown[][]> {
      return prepareRaw(sql).all(...bind(params)) as unknown[][];
    },
    async run(sql: string, params: readonly SqlValue[] = []): Promise<number> {
      return prepare(sql).run(...bind(params)).changes;
    },
    async script(sql: string): Promise<void> {
      db.exec(sql);
    },
  };
  const begin = prepare("BEGIN IMMEDIATE");
  const commit = prepare("COMMIT");
  const rollback = prepare("ROLLBACK");

  return {
    dialect: "sqlite",
    all: (sql, params) => mutex.run(() => session.all(sql, params)),
    values: (sql, params) => mutex.run(() => session.values(sql, params)),
    run: (sql, params) => mutex.run(() => session.run(sql, params)),
    script: (sql) => mutex.run(() => session.script(sql)),
    transaction: (work) =>
      mutex.run(async () => {
        begin.run();
        try {
          const result = await work(session);
          commit.run();
          return result;
        } catch (err) {
          if (db.inTransaction) rollback.run();
          throw err;
        }
      }),
    close: () =>
      mutex.run(async () => {
        statements.clear();
        rawStatements.clear();
        db.close();
      }),
  };
}
