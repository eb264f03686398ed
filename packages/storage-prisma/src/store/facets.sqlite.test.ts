import {
  describeA2aStateContract,
  describeIdempotencyContract,
  describeNodeStoreContract,
  describeLimitsContract,
  describeQueueStatsContract,
  describeScheduleStoreContract,
} from "@aipartnerupflow/core/testing";
import { afterAll } from "vitest";
import { tempDir } from "../test-support/sqlite.js";
import { createPrismaStore } from "./create.js";

// The contracts of the store's facets (schedules, idempotency, A2A state, queue stats, nodes, limits) on SQLite:
// every check gets a store on a fresh file.
const dir = tempDir();
afterAll(() => dir.remove());
const fresh = () => createPrismaStore({ url: `file:${dir.file()}` });

describeScheduleStoreContract("Prisma store on SQLite", fresh);
describeIdempotencyContract("Prisma store on SQLite", fresh);
describeA2aStateContract("Prisma store on SQLite", fresh);
describeQueueStatsContract("Prisma store on SQLite", fresh);
describeNodeStoreContract("Prisma store on SQLite", fresh);
describeLimitsContract("Prisma store on SQLite", fresh);
