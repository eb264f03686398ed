import pg from "pg";
import { afterAll, beforeAll, describe, it } from "vitest";
import { resolveDatabase } from "../config.js";
import { openDatabase } from "../db/open.js";
import { loadMigrations } from "../migrate/files.js";
import { migrate } from "../migrate/index.js";
import { runMigrations } from "../migrate/runner.js";
import { postgresClient, type StoreClient, sqliteClient } from "../prisma/clients.js";
import { createPrismaStore } from "../store/create.js";
import type { PrismaTaskStore } from "../store/prisma-store.js";
import { createTestDatabase, postgresReachable, requirePostgresInCi, type TestDatabase } from "./postgres.js";
import { tempDir } from "./sqlite.js";

export interface FacetMigration {
  /** The migration that adds the facet's tables, e.g. "0007". */
  id: string;
  /** What it adds, for the suite titles, e.g. "A2A state". */
  what: string;
  /** Write every field of the facet's models through Prisma and read them back (model agreement). */
  writeAndRead(prisma: StoreClient): Promise<void>;
  /** Use the facet on a store opened on a database that was migrated up to just before `id`. */
  useUpgraded(store: PrismaTaskStore): Promise<void>;
}

/**
 * The checks every migration that adds a store facet's tables gets: its SQL agrees with the Prisma
 * models on SQLite and on PostgreSQL, and a SQLite database migrated up to the migration before
 * it upgrades on open with the facet working.
 */
export async function describeFacetMigration(m: FacetMigration): Promise<void> {
  describe(`migration ${m.id} (${m.what}) on SQLite`, () => {
    const dir = tempDir(`apflow-schema-${m.id}-`);
    afterAll(() => dir.remove());

    it("agrees with the Prisma models", async () => {
      const url = `file:${dir.file()}`;
      await migrate({ url });
      const prisma = sqliteClient(resolveDatabase(url).url);
      try {
        await m.writeAndRead(prisma);
      } finally {
        await prisma.$disconnect();
      }
    });

    it(`upgrades a database migrated up to the one before ${m.id}, and the facet works on it`, async () => {
      const url = `file:${dir.file()}`;
      const before = openDatabase(resolveDatabase(url));
      try {
        await runMigrations(
          before.db,
          loadMigrations("sqlite").filter((migration) => migration.id < m.id),
        );
      } finally {
        await before.db.close();
      }
      const store = await createPrismaStore({ url });
      try {
        await m.useUpgraded(store);
      } finally {
        await store.close();
      }
    });
  });

  const reachable = await postgresReachable();
  requirePostgresInCi(reachable);
  describe.skipIf(!reachable)(`migration ${m.id} (${m.what}) on PostgreSQL`, () => {
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
        await m.writeAndRead(prisma);
      } finally {
        await prisma.$disconnect();
        await pool.end();
      }
    });
  });
}
