import { describeStoreContract } from "@aipartnerupflow/core/testing";
import { describe } from "vitest";
import {
  useMigratedTestDatabase,
  postgresReachable,
  requirePostgresInCi,
  truncateStore,
} from "../test-support/postgres.js";
import { createPrismaStore } from "./create.js";

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("PostgreSQL", () => {
  const database = useMigratedTestDatabase();

  describeStoreContract(
    "Prisma store on PostgreSQL",
    async () => {
      await truncateStore(database.url());
      return createPrismaStore({ url: database.url(), poolSize: 4 });
    },
    { timeout: 20_000 },
  );
});
