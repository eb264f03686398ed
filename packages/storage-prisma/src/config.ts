import { resolve } from "node:path";
import { ApflowError, ErrorCode } from "@aipartnerupflow/core";

/** Where the store lives when nothing is configured. */
export const DEFAULT_SQLITE_PATH = "./.apflow/apflow.db";

export type DatabaseTarget = { provider: "sqlite"; path: string; url: string } | { provider: "postgres"; url: string };

/**
 * Pick the database from a URL: `postgres://` / `postgresql://` is PostgreSQL; `file:<path>`, a
 * or a plain path is SQLite. Without a URL: `APFLOW_DATABASE_URL`, then `DATABASE_URL`,
 * then the embedded default `./.apflow/apflow.db`.
 */
export function resolveDatabase(url?: string, env: NodeJS.ProcessEnv = process.env): DatabaseTarget {
  const raw = (url ?? env.APFLOW_DATABASE_URL ?? env.DATABASE_URL ?? "").trim();
  if (raw === "") return sqliteTarget(DEFAULT_SQLITE_PATH);
  if (/^postgres(ql)?:\/\//i.test(raw)) return { provider: "postgres", url: raw };
  if (/^file:/i.test(raw)) {
    const path = raw.replace(/^file:(\/\/(?=\/))?/i, "").replace(/\?.*$/, "");
    if (path === "") throw invalidUrl(raw);
    return sqliteTarget(path);
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) throw invalidUrl(raw);
  return sqliteTarget(raw);
}

function sqliteTarget(path: string): DatabaseTarget {
  if (path === ":memory:") {
    throw new ApflowError(
      ErrorCode.InvalidParams,
      "an in-memory SQLite database is not supported (the store opens the file more than once): use a file path, or core's MemoryStore",
    );
  }
  const absolute = resolve(path);
  return { provider: "sqlite", path: absolute, url: `file:${absolute}` };
}

function invalidUrl(raw: string): ApflowError {
  const scheme = raw.split(":")[0] ?? raw;
  return new ApflowError(
    ErrorCode.InvalidParams,
    `unsupported database URL scheme "${scheme}": use postgres://, postgresql://, file:<path> or a file path`,
    { scheme },
  );
}
