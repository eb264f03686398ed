import { ApflowError, type TaskStore } from "@aipartnerupflow/core";
import {
  type MigrationReport,
  type MigrationStatus,
  createPrismaStore,
  migrate,
  migrationStatus,
  resolveDatabase,
} from "@aipartnerupflow/storage-prisma";
import { CliError, ExitCode, isUnreachable, unreachableError } from "./errors.js";

/** Where the local store lives, for messages: the SQLite file or the PostgreSQL URL without password. */
export function describeDatabase(url: string | undefined): string {
  try {
    const target = resolveDatabase(url ?? "");
    return target.provider === "sqlite" ? `sqlite ${target.path}` : `postgres ${redactUrl(target.url)}`;
  } catch (err) {
    throw asStoreError(err, url);
  }
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return url;
  }
}

/**
 * Open the local store (SQLite by default; migrations are applied on open for SQLite, and
 * required to be applied already for PostgreSQL).
 */
export async function openStore(url: string | undefined): Promise<TaskStore> {
  try {
    return await createPrismaStore(url === undefined ? { url: "" } : { url });
  } catch (err) {
    throw asStoreError(err, url);
  }
}

export async function migrateDatabase(url: string | undefined): Promise<MigrationReport & { provider: string }> {
  try {
    return await migrate({ url: url ?? "" });
  } catch (err) {
    throw asStoreError(err, url);
  }
}

export async function databaseStatus(url: string | undefined): Promise<MigrationStatus> {
  try {
    return await migrationStatus({ url: url ?? "" });
  } catch (err) {
    throw asStoreError(err, url);
  }
}

/** A store that cannot be opened (bad URL, unreachable server, not migrated) ends with exit 2 or 3. */
function asStoreError(err: unknown, url: string | undefined): Error {
  if (err instanceof CliError) return err;
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof ApflowError && /unsupported database URL|in-memory SQLite/.test(message)) {
    return new CliError(message, ExitCode.Usage, [], { cause: err });
  }
  const where = safeDescribe(url);
  if (err instanceof ApflowError && (err.data as { pending?: unknown } | undefined)?.pending) {
    return new CliError(`${where}: ${message}`, ExitCode.Unreachable, [], { cause: err });
  }
  if (isUnreachable(err) || !(err instanceof ApflowError)) {
    return unreachableError(`cannot open the store (${where}): ${message}`, err);
  }
  return err;
}

function safeDescribe(url: string | undefined): string {
  try {
    return describeDatabase(url);
  } catch {
    return "database";
  }
}
