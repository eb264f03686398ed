import { describeScheduleStoreContract } from "@aipartnerupflow/core/testing";
import { afterAll } from "vitest";
import { createPrismaStore } from "../store/create.js";
import { tempDir } from "../test-support/sqlite.js";

const dir = tempDir("apflow-schedules-");
afterAll(() => dir.remove());

describeScheduleStoreContract("Prisma store on SQLite", () => createPrismaStore({ url: `file:${dir.file()}` }));
