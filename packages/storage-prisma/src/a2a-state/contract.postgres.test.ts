import { describeA2aStateContract } from "@aipartnerupflow/core/testing";
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

async function truncateA2a(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("TRUNCATE a2a_conversations, a2a_push_configs");
  } finally {
    await client.end();
  }
}

describe.skipIf(!reachable)("PostgreSQL", () => {
  const database = useMigratedTestDatabase();

  describeA2aStateContract(
    "Prisma store on PostgreSQL",
    async () => {
      await truncateStore(database.url());
      await truncateA2a(database.url());
      return createPrismaStore({ url: database.url(), poolSize: 4 });
    },
    { timeout: 20_000 },
  );
});
