import { describeStoreContract } from "@aipartnerupflow/core/testing";
import { afterAll } from "vitest";
import { tempDir } from "../test-support/sqlite.js";
import { createPrismaStore } from "./create.js";

const dir = tempDir();
afterAll(() => dir.remove());

describeStoreContract("Prisma store on SQLite", () => createPrismaStore({ url: `file:${dir.file()}` }));
