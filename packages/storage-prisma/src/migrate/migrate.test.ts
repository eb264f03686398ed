import { describe, expect, it, afterAll, beforeAll } from "vitest";
import { ApflowError } from "@aipartnerupflow/core";
import { cpSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openSqlite } from "../db/sqlite.js";
import {
  createTestDatabase,
  postgresReachable,
  requirePostgresInCi,
  type TestDatabase,
} from "../test-support/postgres.js";
import { tempDir } from "../test-support/sqlite.js";
import { createPrismaStore } from "../store/create.js";
import { loadMigrations, migrationsRoot } from "./files.js";
import { migrate, migrationStatus } from "./index.js";
import { runMigrations } from "./runner.js";

const dir = tempDir("apflow-migrate-");
afterAll(() => dir.remove());

describe("migrations on SQLite", () => {
  it("applies every migration once, reports status, and is idempotent", async () => {
    const url = `file:${dir.file()}`;
    const before = await migrationStatus({ url });
    expect(before.applied).toEqual([]);
    expect(before.pending).toEqual(loadMigrations("sqlite").map((m) => m.id));

    const first = await migrate({ url });
    expect(first.provider).toBe("sqlite");
    expect(first.applied).toEqual(before.pending);
    const second = await migrate({ url });
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(before.pending);

    const after = await migrationStatus({ url });
    expect(after.pending).toEqual([]);
    expect(after.applied.map((a) => a.id)).toEqual(before.pending);
    expect(after.unknown).toEqual([]);
  });

  it("refuses a migration edited after it was applied", async () => {
    const root = join(dir.path, "edited-migrations");
    cpSync(migrationsRoot(), root, { recursive: true });
    const db = openSqlite(dir.file());
    try {
      await runMigrations(db, loadMigrations("sqlite", root));
      writeFileSync(join(root, "sqlite", "0001_init.sql"), "-- edited\nSELECT 1;\n");
      await expect(runMigrations(db, loadMigrations("sqlite", root))).rejects.toBeInstanceOf(ApflowError);
    } finally {
      await db.close();
    }
  });

  it("applies a new migration file on top, in its own transaction, and rolls back a failing one", async () => {
    const root = join(dir.path, "more-migrations");
    cpSync(migrationsRoot(), root, { recursive: true });
    const db = openSqlite(dir.file());
    try {
      await runMigrations(db, loadMigrations("sqlite", root));
      writeFileSync(
        join(root, "sqlite", "0002_broken.sql"),
        "CREATE TABLE extra (id TEXT);\nINSERT INTO no_such_table VALUES (1);\n",
      );
      await expect(runMigrations(db, loadMigrations("sqlite", root))).rejects.toThrow(/no_such_table/);
      expect(await db.all("SELECT name FROM sqlite_master WHERE name = 'extra'")).toEqual([]);
      writeFileSync(join(root, "sqlite", "0002_broken.sql"), "CREATE TABLE extra (id TEXT);\n");
      const report = await runMigrations(db, loadMigrations("sqlite", root));
      expect(report.applied).toEqual(["0002_broken"]);
    } finally {
      await db.close();
    }
  });

  it("a store opened without migrate refuses a database that is not up to date", async () => {
    const url = `file:${dir.file()}`;
    await expect(createPrismaStore({ url, migrate: false })).rejects.toThrow(/pending migrations: 0001_init/);
  });

  it("creates the folder of the database file", async () => {
    const path = join(dir.path, "nested", "deeper", "apflow.db");
    const store = await createPrismaStore({ url: path });
    expect((await store.countByStatus()).pending).toBe(0);
    await store.close();
  });
});

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("migrations on PostgreSQL", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("processes starting at once migrate exactly once (advisory lock)", async () => {
    const reports = await Promise.all(Array.from({ length: 4 }, () => migrate({ url: database.url })));
    // Each migration applied exactly once, not necessarily all by the same process.
    const applied = reports.flatMap((r) => r.applied).sort();
    expect(applied).toEqual(loadMigrations("postgres").map((m) => m.id));
    const status = await migrationStatus({ url: database.url });
    expect(status.provider).toBe("postgres");
    expect(status.pending).toEqual([]);
  });
});
