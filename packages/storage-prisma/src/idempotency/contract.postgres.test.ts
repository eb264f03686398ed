import { describeIdempotencyContract } from "@aipartnerupflow/core/testing";
import pg from "pg";
import { describe } from "vitest";
import { createPrismaStore } from "../store/create.js";
import {
  postgresReachable,
  requirePostgresInCi,
  truncateStore,
  useMigratedTestDatabase,
} from "../test-support/postgres.js";

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

async function truncateIdempotency(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("TRUNCATE idempotency_keys, unique_trees");
  } finally {
    await client.end();
  }
}

describe.skipIf(!reachable)("PostgreSQL", () => {
  const database = useMigratedTestDatabase();

  describeIdempotencyContract(
    "Prisma store on PostgreSQL",
    async () => {
      await truncateStore(database.url());
      await truncateIdempotency(database.url());
      return createPrismaStore({ url: database.url(), poolSize: 4 });
    },
    { timeout: 20_000 },
  );
});
