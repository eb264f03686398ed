import { ApflowError, ErrorCode } from "@aipartnerupflow/core";
import type { SqlDatabase, SqlSession } from "../db/types.js";
import type { Migration } from "./files.js";

/** What `migrate` did. */
export interface MigrationReport {
  applied: string[];
  alreadyApplied: string[];
}

export interface MigrationStatus {
  provider: "sqlite" | "postgres";
  applied: Array<{ id: string; appliedAt: string }>;
  pending: string[];
  /** Applied to the database but unknown to this version of the package (the database is newer). */
  unknown: string[];
}

const MIGRATIONS_TABLE = `CREATE TABLE IF NOT EXISTS apflow_migrations (
  id TEXT NOT NULL PRIMARY KEY,
  checksum TEXT NOT NULL,
  applied_at TEXT NOT NULL
)`;

/** Any number, shared by every process that migrates: serializes migrations on PostgreSQL. */
const ADVISORY_LOCK_KEY = 7_201_446_551;

/**
 * Serialize migrating processes: SQLite's `BEGIN IMMEDIATE` already holds the write lock; on
 * PostgreSQL a transaction-scoped advisory lock makes concurrent starts wait for each other.
 */
async function lockMigrations(tx: SqlSession): Promise<void> {
  if (tx.dialect === "postgres") await tx.all("SELECT pg_advisory_xact_lock(?::bigint)", [ADVISORY_LOCK_KEY]);
}

/** Apply every migration not applied yet, each in its own transaction. Idempotent. */
export async function runMigrations(db: SqlDatabase, migrations: Migration[]): Promise<MigrationReport> {
  await db.transaction(async (tx) => {
    await lockMigrations(tx);
    await tx.script(MIGRATIONS_TABLE);
  });
  const report: MigrationReport = { applied: [], alreadyApplied: [] };
  for (const migration of migrations) {
    const applied = await db.transaction(async (tx) => {
      await lockMigrations(tx);
      const rows = await tx.all<{ checksum: string }>("SELECT checksum FROM apflow_migrations WHERE id = ?", [
        migration.id,
      ]);
      const existing = rows[0];
      if (existing) {
        if (existing.checksum !== migration.checksum) throw changedMigration(migration.id);
        return false;
      }
      await tx.script(migration.sql);
      await tx.run("INSERT INTO apflow_migrations (id, checksum, applied_at) VALUES (?, ?, ?)", [
        migration.id,
        migration.checksum,
        new Date().toISOString(),
      ]);
      return true;
    });
    (applied ? report.applied : report.alreadyApplied).push(migration.id);
  }
  return report;
}

export async function readMigrationStatus(db: SqlDatabase, migrations: Migration[]): Promise<MigrationStatus> {
  const tables =
    db.dialect === "sqlite"
      ? await db.all("SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'apflow_migrations'")
      : await db.all(
          "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename = 'apflow_migrations'",
        );
  const rows =
    tables.length === 0
      ? []
      : await db.all<{ id: string; checksum: string; applied_at: string }>(
          "SELECT id, checksum, applied_at FROM apflow_migrations ORDER BY id",
        );
  const known = new Map(migrations.map((m) => [m.id, m]));
  const done = new Set(rows.map((r) => r.id));
  for (const row of rows) {
    const migration = known.get(row.id);
    if (migration && migration.checksum !== row.checksum) throw changedMigration(row.id);
  }
  return {
    provider: db.dialect,
    applied: rows.filter((r) => known.has(r.id)).map((r) => ({ id: r.id, appliedAt: r.applied_at })),
    pending: migrations.filter((m) => !done.has(m.id)).map((m) => m.id),
    unknown: rows.filter((r) => !known.has(r.id)).map((r) => r.id),
  };
}

function changedMigration(id: string): ApflowError {
  return new ApflowError(
    ErrorCode.Internal,
    `migration ${id} differs from the one applied to this database: migrations must never be edited once released`,
    { migration: id },
  );
}
