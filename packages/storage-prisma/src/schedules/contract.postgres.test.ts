import { describeScheduleStoreContract } from "@aipartnerupflow/core/testing";
import pg from "pg";
import { describe } from "vitest";
import { createPrismaStore } from "../store/create.js";
import { postgresReachable, requirePostgresInCi, useMigratedTestDatabase } from "../test-support/postgres.js";

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

async function emptySchedules(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query("TRUNCATE schedules, schedule_runs");
  } finally {
    await client.end();
  }
}

describe.skipIf(!reachable)("PostgreSQL", () => {
  const database = useMigratedTestDatabase();
  describeScheduleStoreContract(
    "Prisma store on PostgreSQL",
    async () => {
      await emptySchedules(database.url());
      return createPrismaStore({ url: database.url(), poolSize: 4 });
    },
    { timeout: 20_000 },
  );
});
