import { type NewTask, type TaskStore, validateTasks } from "@aipartnerupflow/core";
import { afterAll, describe, expect, it } from "vitest";
import {
  postgresReachable,
  requirePostgresInCi,
  truncateStore,
  useMigratedTestDatabase,
} from "../test-support/postgres.js";
import { tempDir } from "../test-support/sqlite.js";
import { createPrismaStore } from "./create.js";

/**
 * A re-execution starts fresh: the previous run's checkpoint is gone and a retry's backoff no
 * longer delays the task — its runAt is the one the user gave (at creation or by updateTask).
 */
const T0 = new Date("2030-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);
const HOUR = 3_600_000;

async function rerunRestoresUserRunAt(store: TaskStore): Promise<void> {
  const [tree] = validateTasks([{ id: "solo", name: "solo", runAt: at(10_000).toISOString() }], { now: T0 });
  await store.createTasks(tree as NewTask[], T0);
  await store.startExecution({ taskId: "solo", now: T0 });
  expect((await store.claimReady({ owner: "n", limit: 1, leaseMs: 60_000, now: at(9_999) })).claimed).toEqual([]);
  const [c] = (await store.claimReady({ owner: "n", limit: 1, leaseMs: 60_000, now: at(10_000) })).claimed;
  if (!c) throw new Error("not claimed");
  await store.saveCheckpoint("solo", c.leaseToken, { page: 9 });
  await store.finishTask(
    "solo",
    c.leaseToken,
    { status: "failed", error: { code: "F", message: "x" }, retryAt: at(HOUR) },
    at(10_001),
  );
  expect((await store.getTask("solo"))?.runAt).toBe(at(HOUR).toISOString());

  // The retry is still waiting: cancel it and run again. The user's runAt is back, not the backoff.
  await store.cancel("solo", { now: at(10_002) });
  await store.startExecution({ taskId: "solo", now: at(10_003) });
  expect((await store.getTask("solo"))?.runAt).toBe(at(10_000).toISOString());
  const [again] = (await store.claimReady({ owner: "n", limit: 1, leaseMs: 60_000, now: at(10_004) })).claimed;
  expect(again?.task.id).toBe("solo");
  expect(again?.lastCheckpoint).toBeNull();
  expect(again?.task.attempt).toBe(2);
  await store.finishTask("solo", again?.leaseToken as string, { status: "completed", result: null }, at(10_005));

  // A runAt the user sets later is the one a re-run restores.
  await store.updateTask("solo", { runAt: at(2 * HOUR).toISOString() }, at(10_006));
  await store.startExecution({ taskId: "solo", rerun: "all", now: at(10_007) });
  expect((await store.getTask("solo"))?.runAt).toBe(at(2 * HOUR).toISOString());
  expect((await store.claimReady({ owner: "n", limit: 1, leaseMs: 60_000, now: at(HOUR) })).claimed).toEqual([]);
}

async function withStore(open: () => Promise<TaskStore>, check: (store: TaskStore) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await check(store);
  } finally {
    await store.close();
  }
}

describe("re-execution resets on SQLite", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  it("clears the checkpoint and restores the user's runAt over a retry's backoff", () =>
    withStore(() => createPrismaStore({ url: dir.file() }), rerunRestoresUserRunAt));
});

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("re-execution resets on PostgreSQL", () => {
  const database = useMigratedTestDatabase();
  it("clears the checkpoint and restores the user's runAt over a retry's backoff", () =>
    withStore(async () => {
      await truncateStore(database.url());
      return createPrismaStore({ url: database.url() });
    }, rerunRestoresUserRunAt));
});
