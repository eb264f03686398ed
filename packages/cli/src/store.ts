import { ApflowError, type Registry, type StoreFactory, type TaskStore } from "@aipartnerupflow/core";
import {
  type MigrationReport,
  type MigrationStatus,
  migrate,
  migrationStatus,
  prismaStoreFactory,
  resolveDatabase,
} from "@aipartnerupflow/storage-prisma";
import { CliError, ExitCode, isUnreachable, unreachableError } from "./errors.js";

/**
 * The store factory a database URL opens with: a plugin's for its scheme (`mystore://…`), else
 * the built-in SQLite/PostgreSQL store. The CLI registers the built-in one before any plugin, so
 * a plugin may also replace it for `file` or `postgres`.
 */
export function storeFactoryFor(url: string | undefined, registry?: Registry): StoreFactory | undefined {
  return registry ? registry.findStoreFor(url ?? "") : prismaStoreFactory;
}

function pluginStore(url: string | undefined, registry?: Registry): StoreFactory | undefined {
  const factory = storeFactoryFor(url, registry);
  return factory && factory.id !== prismaStoreFactory.id ? factory : undefined;
}

/** Where the local store lives, for messages: the SQLite file or the PostgreSQL URL without password. */
export function describeDatabase(url: string | undefined, registry?: Registry): string {
  const plugin = pluginStore(url, registry);
  if (plugin) return `${plugin.id} ${redactUrl(url ?? "")}`;
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
export async function openStore(url: string | undefined, registry?: Registry): Promise<TaskStore> {
  try {
    if (registry) return await registry.openStore(url ?? "");
    return await prismaStoreFactory.create({ url: url ?? "" });
  } catch (err) {
    throw asStoreError(err, url, registry);
  }
}

/** `db migrate` and `db status` know the built-in store's migrations only. */
function requireBuiltinStore(url: string | undefined, registry: Registry | undefined, what: string): void {
  const plugin = pluginStore(url, registry);
  if (plugin) {
    throw new CliError(
      `${what} works on the built-in SQLite/PostgreSQL store; ${redactUrl(url ?? "")} is opened by the store "${plugin.id}" from a plugin, which manages its own schema`,
      ExitCode.Usage,
    );
  }
}

export async function migrateDatabase(
  url: string | undefined,
  registry?: Registry,
): Promise<MigrationReport & { provider: string }> {
  requireBuiltinStore(url, registry, "db migrate");
  try {
    return await migrate({ url: url ?? "" });
  } catch (err) {
    throw asStoreError(err, url);
  }
}

export async function databaseStatus(url: string | undefined, registry?: Registry): Promise<MigrationStatus> {
  requireBuiltinStore(url, registry, "db status");
  try {
    return await migrationStatus({ url: url ?? "" });
  } catch (err) {
    throw asStoreError(err, url);
  }
}

/** A store that cannot be opened (bad URL, unreachable server, not migrated) ends with exit 2 or 3. */
function asStoreError(err: unknown, url: string | undefined, registry?: Registry): Error {
  if (err instanceof CliError) return err;
  const message = (err as Error)?.message ?? String(err);
  if (err instanceof ApflowError && /unsupported database URL|in-memory SQLite|no store opens/.test(message)) {
    return new CliError(message, ExitCode.Usage, [], { cause: err });
  }
  const where = safeDescribe(url, registry);
  if (err instanceof ApflowError && (err.data as { pending?: unknown } | undefined)?.pending) {
    return new CliError(`${where}: ${message}`, ExitCode.Unreachable, [], { cause: err });
  }
  if (isUnreachable(err) || !(err instanceof ApflowError)) {
    return unreachableError(`cannot open the store (${where}): ${message}`, err);
  }
  return err;
}

function safeDescribe(url: string | undefined, registry?: Registry): string {
  try {
    return describeDatabase(url, registry);
  } catch {
    return "database";
  }
}
