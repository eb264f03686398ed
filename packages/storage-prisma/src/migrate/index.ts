import { resolveDatabase } from "../config.js";
import { openDatabase } from "../db/open.js";
import type { DatabaseOptions } from "../types.js";
import { loadMigrations } from "./files.js";
import { type MigrationReport, type MigrationStatus, readMigrationStatus, runMigrations } from "./runner.js";

export type { MigrationReport, MigrationStatus };

/**
 * Apply the package's pending SQL migrations to the database at `url` (see `resolveDatabase` for
 * the default). Idempotent, and safe when several processes migrate at once.
 */
export async function migrate(
  options: DatabaseOptions = {},
): Promise<MigrationReport & { provider: "sqlite" | "postgres" }> {
  const target = resolveDatabase(options.url);
  const { db } = openDatabase(target);
  try {
    return { provider: target.provider, ...(await runMigrations(db, loadMigrations(target.provider))) };
  } finally {
    await db.close();
  }
}

/** Which migrations the database at `url` has, and which are pending. Writes nothing. */
export async function migrationStatus(options: DatabaseOptions = {}): Promise<MigrationStatus> {
  const target = resolveDatabase(options.url);
  const { db } = openDatabase(target);
  try {
    return await readMigrationStatus(db, loadMigrations(target.provider));
  } finally {
    await db.close();
  }
}
