import {
  describeA2aStateContract,
  describeIdempotencyContract,
  describeNodeStoreContract,
  describeLimitsContract,
  describeQueueStatsContract,
  describeScheduleStoreContract,
} from "@aipartnerupflow/core/testing";
import { describe } from "vitest";
import {
  postgresReachable,
  requirePostgresInCi,
  truncateStore,
  useMigratedTestDatabase,
} from "../test-support/postgres.js";
import { createPrismaStore } from "./create.js";

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

// The contracts of the store's facets (schedules, idempotency, A2A state, queue stats, nodes, limits) on the real
// PostgreSQL: one migrated database, emptied (facet tables included) before every check.
describe.skipIf(!reachable)("PostgreSQL", () => {
  const database = useMigratedTestDatabase();
  const fresh = async () => {
    await truncateStore(database.url());
    return createPrismaStore({ url: database.url(), poolSize: 4 });
  };
  const options = { timeout: 20_000 };

  describeScheduleStoreContract("Prisma store on PostgreSQL", fresh, options);
  describeIdempotencyContract("Prisma store on PostgreSQL", fresh, options);
  describeA2aStateContract("Prisma store on PostgreSQL", fresh, options);
  describeQueueStatsContract("Prisma store on PostgreSQL", fresh, options);
  describeNodeStoreContract("Prisma store on PostgreSQL", fresh, options);
  describeLimitsContract("Prisma store on PostgreSQL", fresh, options);
});
