import { describeScheduleStoreContract } from "@aipartnerupflow/core/testing";
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

describe.skipIf(!reachable)("PostgreSQL", () => {
  const database = useMigratedTestDatabase();
  describeScheduleStoreContract(
    "Prisma store on PostgreSQL",
    async () => {
      await truncateStore(database.url());
      return createPrismaStore({ url: database.url(), poolSize: 4 });
    },
    { timeout: 20_000 },
  );
});
