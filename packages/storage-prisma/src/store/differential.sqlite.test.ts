import { describeDifferential } from "@aipartnerupflow/core/testing";
import { afterAll, beforeAll } from "vitest";
import { memoryBackedTempDir, reusableSqliteStore } from "../test-support/sqlite.js";

/**
 * MemoryStore against the SQLite store: 1,000 random sequences (create, start, claim, finish one
 * by one and batched, cancel, renew, reclaim after a clock jump, progress, update, delete, reads),
 * every result and event compared. A failure prints the seed; APFLOW_DIFF_SEED=<seed> replays it.
 */
const dir = memoryBackedTempDir();
let sqlite: Awaited<ReturnType<typeof reusableSqliteStore>>;
beforeAll(async () => {
  sqlite = await reusableSqliteStore(dir.file());
});
afterAll(async () => {
  await sqlite.close();
  dir.remove();
});

describeDifferential("MemoryStore vs SQLite", {
  subject: () => sqlite.empty(),
  release: async (store, role) => {
    if (role === "reference") await store.close();
  },
  sequences: 1000,
});
