import { LeaseLostError, type NewTask, type TaskStore, validateTasks } from "@aipartnerupflow/core";
import { afterAll, describe, expect, it } from "vitest";
import {
  useMigratedTestDatabase,
  postgresReachable,
  requirePostgresInCi,
  truncateStore,
} from "../test-support/postgres.js";
import { tempDir } from "../test-support/sqlite.js";
import { createPrismaStore } from "./create.js";

/** `finishTasks` (the engine's batched write, not part of core's contract): checked here. */
const T0 = new Date("2030-01-01T00:00:00.000Z");

async function checkMixedBatch(store: TaskStore): Promise<void> {
  const [tree] = validateTasks(
    [
      { name: "root", dependencies: ["a", "b", "c"] },
      { name: "a", parentId: "root" },
      { name: "b", parentId: "root" },
      { name: "c", parentId: "root" },
      { name: "after-c", parentId: "root", dependencies: ["c"] },
    ],
    { now: T0 },
  );
  const { tasks } = await store.createTasks(tree as NewTask[], T0);
  const id = (name: string) => tasks.find((t) => t.name === name)?.id as string;
  await store.startExecution({ taskId: id("root"), now: T0 });
  const { claimed } = await store.claimReady({ owner: "n", limit: 10, leaseMs: 10_000, now: T0 });
  expect(claimed.map((c) => c.task.name).sort()).toEqual(["a", "b", "c"]);
  const token = (name: string) => claimed.find((c) => c.task.name === name)?.leaseToken as string;

  const finishTasks = store.finishTasks?.bind(store);
  expect(finishTasks).toBeTypeOf("function");
  const result = await (finishTasks as NonNullable<TaskStore["finishTasks"]>)(
    [
      { taskId: id("a"), leaseToken: token("a"), outcome: { status: "completed", result: { n: 1 } } },
      { taskId: id("b"), leaseToken: "stale", outcome: { status: "completed", result: null } },
      {
        taskId: id("c"),
        leaseToken: token("c"),
        outcome: { status: "failed", error: { code: "BOOM", message: "no" } },
      },
    ],
    T0,
  );
  expect(result.results.map((r) => r.taskId)).toEqual([id("a"), id("b"), id("c")]);
  expect(result.results[0]?.task?.status).toBe("completed");
  expect(result.results[0]?.task?.result).toEqual({ n: 1 });
  expect(result.results[1]?.error).toBeInstanceOf(LeaseLostError);
  expect(result.results[2]?.task?.status).toBe("failed");
  expect(result.finished).toEqual([]);
  const types = result.events.map((e) => `${e.type}:${tasks.find((t) => t.id === e.taskId)?.name}`);
  expect(types.sort()).toEqual(["task.completed:a", "task.failed:after-c", "task.failed:c", "task.failed:root"]);

  // The refused item wrote nothing; the others did, cascade included.
  expect((await store.getTask(id("b")))?.status).toBe("in_progress");
  expect((await store.getTask(id("after-c")))?.error?.code).toBe("DEPENDENCY_FAILED");

  // Finishing the last one finishes the execution, exactly once.
  const last = await (finishTasks as NonNullable<TaskStore["finishTasks"]>)(
    [{ taskId: id("b"), leaseToken: token("b"), outcome: { status: "completed", result: null } }],
    T0,
  );
  expect(last.finished.map((e) => e.status)).toEqual(["failed"]);
  expect((await store.claimReady({ owner: "n", limit: 10, leaseMs: 10_000, now: T0 })).claimed).toEqual([]);
  expect((await store.getTask(id("root")))?.status).toBe("failed");
  const [execution] = await store.listExecutions({ rootId: id("root") });
  expect(execution?.status).toBe("failed");
  const finishedEvents = await store.readEvents({ rootId: id("root") });
  expect(finishedEvents.filter((e) => e.type === "tree.finished")).toHaveLength(1);
}

describe("finishTasks on SQLite", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  it("writes a mixed batch: completions together, a stale token refused alone, failures cascading", async () => {
    const store = await createPrismaStore({ url: dir.file() });
    try {
      await checkMixedBatch(store);
    } finally {
      await store.close();
    }
  });
});

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("finishTasks on PostgreSQL", () => {
  const database = useMigratedTestDatabase();
  it("writes a mixed batch: completions together, a stale token refused alone, failures cascading", async () => {
    await truncateStore(database.url());
    const store = await createPrismaStore({ url: database.url() });
    try {
      await checkMixedBatch(store);
    } finally {
      await store.close();
    }
  });
});
