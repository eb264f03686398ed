import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveDatabase } from "../config.js";
import { openDatabase } from "../db/open.js";
import { loadMigrations } from "../migrate/files.js";
import { migrate } from "../migrate/index.js";
import { runMigrations } from "../migrate/runner.js";
import { postgresClient, type StoreClient, sqliteClient } from "../prisma/clients.js";
import { createPrismaStore } from "../store/create.js";
import {
  createTestDatabase,
  postgresReachable,
  requirePostgresInCi,
  type TestDatabase,
} from "../test-support/postgres.js";
import { tempDir } from "../test-support/sqlite.js";

/** Migration 0005 and the Prisma models of its two tables agree: every field written and read back. */
async function writeAndReadIdempotencyModels(prisma: StoreClient): Promise<void> {
  const at = new Date("2030-01-02T03:04:05.678Z");
  const key = await prisma.idempotencyKey.create({
    data: {
      userId: "u1",
      key: "k1",
      fingerprint: "fp",
      token: "t",
      response: { rootIds: ["r1"] },
      createdAt: at,
      expiresAt: at,
      leaseUntil: at,
    },
  });
  expect(await prisma.idempotencyKey.findUniqueOrThrow({ where: { userId_key: { userId: "u1", key: "k1" } } })).toEqual(
    key,
  );
  const unique = await prisma.uniqueTree.create({
    data: { owner: "u1", uniqueKey: "nightly", rootId: "r1", scope: "period", createdAt: at, until: at },
  });
  expect(
    await prisma.uniqueTree.findUniqueOrThrow({ where: { owner_uniqueKey: { owner: "u1", uniqueKey: "nightly" } } }),
  ).toEqual(unique);
}

describe("migration 0005 (idempotency) on SQLite", () => {
  const dir = tempDir("apflow-idem-schema-");
  afterAll(() => dir.remove());

  it("agrees with the Prisma models", async () => {
    const url = `file:${dir.file()}`;
    await migrate({ url });
    const prisma = sqliteClient(resolveDatabase(url).url);
    try {
      await writeAndReadIdempotencyModels(prisma);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("upgrades a database holding tasks, and the facet works on it", async () => {
    const url = `file:${dir.file()}`;
    const before = openDatabase(resolveDatabase(url));
    const migrations = loadMigrations("sqlite");
    const upTo0005 = migrations.filter((m) => m.id < "0005");
    try {
      await runMigrations(before.db, upTo0005);
    } finally {
      await before.db.close();
    }
    const store = await createPrismaStore({ url });
    try {
      const now = new Date("2030-01-01T00:00:00.000Z");
      const reservation = await store.idempotency.reserveKey({
        userId: null,
        key: "k",
        fingerprint: "f",
        token: "t",
        now,
        leaseMs: 1000,
        retentionMs: 60_000,
      });
      expect(reservation).toEqual({ outcome: "reserved" });
    } finally {
      await store.close();
    }
  });
});

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("migration 0005 (idempotency) on PostgreSQL", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("agrees with the Prisma models", async () => {
    await migrate({ url: database.url });
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const prisma = postgresClient(pool);
    try {
      await writeAndReadIdempotencyModels(prisma);
    } finally {
      await prisma.$disconnect();
      await pool.end();
    }
  });
});
