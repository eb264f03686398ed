import { describeEngineSuite } from "@aipartnerupflow/core/testing";
import { describe } from "vitest";
import {
  postgresReachable,
  requirePostgresInCi,
  truncateStore,
  useMigratedTestDatabase,
} from "../test-support/postgres.js";
import { createPrismaStore } from "./create.js";

/** core's engine tests on PostgreSQL: one database, emptied before each store is opened. */
const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("PostgreSQL", () => {
  const database = useMigratedTestDatabase();
  // Each engine test opens one store (engines on one store share it): emptied as it opens.
  describeEngineSuite("the Prisma store on PostgreSQL", async () => {
    await truncateStore(database.url());
    return createPrismaStore({ url: database.url(), poolSize: 4 });
  });
});
