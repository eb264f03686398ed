import { describeA2aStateContract } from "@aipartnerupflow/core/testing";
import { afterAll } from "vitest";
import { createPrismaStore } from "../store/create.js";
import { tempDir } from "../test-support/sqlite.js";

const dir = tempDir();
afterAll(() => dir.remove());

describeA2aStateContract("Prisma store on SQLite", () => createPrismaStore({ url: `file:${dir.file()}` }));
