import { ApflowError, ErrorCode } from "@aipartnerupflow/core";
import { resolveDatabase } from "../config.js";
import { openDatabase } from "../db/open.js";
import { loadMigrations } from "../migrate/files.js";
import { readMigrationStatus, runMigrations } from "../migrate/runner.js";
import type { PrismaStoreOptions } from "../types.js";
import { PrismaTaskStore } from "./prisma-store.js";

/**
 * Open the store: SQLite (embedded default) or PostgreSQL, picked from the URL. Applies pending
 * migrations when `migrate` is on (the default for SQLite); otherwise refuses a database that is
 * not up to date, naming the pending migrations.
 */
export async function createPrismaStore(options: PrismaStoreOptions = {}): Promise<PrismaTaskStore> {
  const target = resolveDatabase(options.url);
  const { db } = openDatabase(target, options);
  try {
    const migrations = loadMigrations(target.provider);
    if (options.migrate ?? target.provider === "sqlite") {
      await runMigrations(db, migrations);
    } else {
      const status = await readMigrationStatus(db, migrations);
      if (status.pending.length > 0) {
        throw new ApflowError(
          ErrorCode.Internal,
          `the database is not up to date (pending migrations: ${status.pending.join(", ")}): run migrate() or \`apflow db migrate\`, or open the store with { migrate: true }`,
          { pending: status.pending },
        );
      }
    }
  } catch (err) {
    await db.close();
    throw err;
  }
  return new PrismaTaskStore(target.provider, db);
}
