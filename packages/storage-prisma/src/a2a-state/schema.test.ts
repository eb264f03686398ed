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

/** Migration 0007 and the Prisma models of its two tables agree: every field written and read back. */
async function writeAndReadA2aModels(prisma: StoreClient): Promise<void> {
  const at = new Date("2030-01-02T03:04:05.678Z");
  const conversation = await prisma.a2aConversation.create({
    data: {
      rootId: "r1",
      owner: "u1",
      contextId: "ctx",
      history: JSON.stringify([{ messageId: "m1", parts: [{ text: "hi" }] }]),
      statusMessage: JSON.stringify({ messageId: "s1" }),
      state: 3,
      createdAt: at,
      updatedAt: at,
    },
  });
  expect(await prisma.a2aConversation.findUniqueOrThrow({ where: { rootId: "r1" } })).toEqual(conversation);
  const push = await prisma.a2aPushConfig.create({
    data: {
      rootId: "r1",
      configId: "c1",
      owner: "u1",
      config: JSON.stringify({ url: "http://127.0.0.1:9/hook" }),
      wireVersion: "1.0",
      createdAt: at,
    },
  });
  expect(
    await prisma.a2aPushConfig.findUniqueOrThrow({ where: { rootId_configId: { rootId: "r1", configId: "c1" } } }),
  ).toEqual(push);
}

describe("migration 0007 (A2A state) on SQLite", () => {
  const dir = tempDir("apflow-a2a-schema-");
  afterAll(() => dir.remove());

  it("agrees with the Prisma models", async () => {
    const url = `file:${dir.file()}`;
    await migrate({ url });
    const prisma = sqliteClient(resolveDatabase(url).url);
    try {
      await writeAndReadA2aModels(prisma);
    } finally {
      await prisma.$disconnect();
    }
  });

  it("upgrades a database migrated up to 0006, and the facet works on it", async () => {
    const url = `file:${dir.file()}`;
    const before = openDatabase(resolveDatabase(url));
    const upTo0007 = loadMigrations("sqlite").filter((m) => m.id < "0007");
    try {
      await runMigrations(before.db, upTo0007);
    } finally {
      await before.db.close();
    }
    const store = await createPrismaStore({ url });
    try {
      const now = new Date("2030-01-01T00:00:01.000Z");
      const rootId = "r-upgraded";
      await store.a2a.putConversation(
        { rootId, owner: null, contextId: "ctx", history: [], statusMessage: null, state: null },
        now,
      );
      expect((await store.a2a.listConversations({ contextId: "ctx", limit: 5, offset: 0 })).rootIds).toEqual([rootId]);
    } finally {
      await store.close();
    }
  });
});

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("migration 0007 (A2A state) on PostgreSQL", () => {
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
      await writeAndReadA2aModels(prisma);
    } finally {
      await prisma.$disconnect();
      await pool.end();
    }
  });
});
