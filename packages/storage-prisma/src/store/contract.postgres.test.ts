import { describeStoreContract } from "@aipartnerupflow/core/testing";
import { afterAll, beforeAll, describe } from "vitest";
import {
  createTestDatabase,
  postgresReachable,
  requirePostgresInCi,
  type TestDatabase,
  truncateStore,
} from "../test-support/postgres.js";
import { migrate } from "../migrate/index.js";
import { createPrismaStore } from "./create.js";

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("PostgreSQL", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    await migrate({ url: database.url });
  });
  afterAll(async () => {
    await database?.drop();
  });

  describeStoreContract(
    "Prisma store on PostgreSQL",
    async () => {
      await truncateStore(database.url);
      return createPrismaStore({ url: database.url, poolSize: 4 });
    },
    { timeout: 20_000 },
  );
});
