import { describeEngineSuite } from "@aipartnerupflow/core/testing";
import { afterAll } from "vitest";
import { tempDir } from "../test-support/sqlite.js";
import { createPrismaStore } from "./create.js";

/** core's engine tests, on a fresh SQLite store each. */
const dir = tempDir();
afterAll(() => dir.remove());

describeEngineSuite("the Prisma store on SQLite", () => createPrismaStore({ url: dir.file() }));
