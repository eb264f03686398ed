import { type NewTask, type TaskOutcome, type TaskStore, validateTasks } from "@aipartnerupflow/core";
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
 * A cancel requested while a task runs wins over the failure or retry its executor reports: the
 * task ends cancelled (CANCELLED "cancelled"), is never claimed again, keeps its cancel flag and
 * is counted and cascaded like any cancellation — through finishTask and finishTasks alike.
 */
const T0 = new Date("2030-01-01T00:00:00.000Z");
const later = (ms: number) => new Date(T0.getTime() + ms);
const FLAKY = { code: "FLAKY", message: "flaky" };

type Finish = (store: TaskStore, taskId: string, token: string, outcome: TaskOutcome) => Promise<void>;

const single: Finish = async (store, taskId, token, outcome) => {
  await store.finishTask(taskId, token, outcome, later(1));
};
const batched: Finish = async (store, taskId, token, outcome) => {
  const finishTasks = store.finishTasks?.bind(store);
  if (!finishTasks) throw new Error("finishTasks missing");
  const r = await finishTasks([{ taskId, leaseToken: token, outcome }], later(1));
  expect(r.results[0]?.error).toBeNull();
};

async function rootCancelBeatsOutcome(store: TaskStore, finish: Finish, outcome: TaskOutcome): Promise<void> {
  const [tree] = validateTasks(
    [
      { name: "root", dependencies: ["a"] },
      { name: "a", parentId: "root" },
    ],
    { now: T0 },
  );
  const { tasks } = await store.createTasks(tree as NewTask[], T0);
  const root = tasks.find((t) => t.name === "root")?.id as string;
  const a = tasks.find((t) => t.name === "a")?.id as string;
  await store.startExecution({ taskId: root, now: T0 });
  const { claimed } = await store.claimReady({ owner: "n1", limit: 10, leaseMs: 10_000, now: T0 });
  const token = claimed[0]?.leaseToken as string;
  const cancel = await store.cancel(root, { now: T0 });
  expect(cancel.running.map((r) => r.taskId)).toEqual([a]);

  await finish(store, a, token, outcome);

  const task = await store.getTask(a);
  expect(task?.status).toBe("cancelled");
  expect(task?.error).toEqual({ code: "CANCELLED", message: "cancelled" });
  expect((await store.claimReady({ owner: "n1", limit: 10, leaseMs: 10_000, now: later(60_000) })).claimed).toEqual([]);
  const [execution] = await store.listExecutions({ rootId: root });
  expect(execution?.status).toBe("cancelled");
  expect((await store.getAttempts(a)).map((x) => x.status)).toEqual(["cancelled"]);
  const events = await store.readEvents({ rootId: root });
  expect(events.filter((e) => e.taskId === a).map((e) => e.type)).toEqual([
    "task.created",
    "task.started",
    "task.cancelled",
  ]);
  expect(events.filter((e) => e.type === "tree.finished")).toHaveLength(1);

  // A new execution queues the task afresh: its flag is cleared there, so a retry now re-queues.
  await store.startExecution({ taskId: root, now: later(2) });
  const rerun = await store.claimReady({ owner: "n1", limit: 10, leaseMs: 10_000, now: later(2) });
  expect(rerun.claimed.map((c) => c.task.id)).toEqual([a]);
  await finish(store, a, rerun.claimed[0]?.leaseToken as string, { status: "failed", error: FLAKY, retryAt: later(2) });
  expect((await store.getTask(a))?.status).toBe("pending");
}

async function taskCancelCascades(store: TaskStore, finish: Finish): Promise<void> {
  const [tree] = validateTasks(
    [
      { name: "root", dependencies: ["a", "b"] },
      { name: "a", parentId: "root" },
      { name: "b", parentId: "root", dependencies: ["a"] },
    ],
    { now: T0 },
  );
  const { tasks } = await store.createTasks(tree as NewTask[], T0);
  const id = (name: string) => tasks.find((t) => t.name === name)?.id as string;
  await store.startExecution({ taskId: id("root"), now: T0 });
  const { claimed } = await store.claimReady({ owner: "n1", limit: 10, leaseMs: 10_000, now: T0 });
  expect(claimed.map((c) => c.task.name)).toEqual(["a"]);
  await store.cancel(id("a"), { now: T0 });

  // The flag survives: the owner learns of it when it renews the lease.
  const renew = await store.renewLeases(
    "n1",
    [{ taskId: id("a"), leaseToken: claimed[0]?.leaseToken as string }],
    10_000,
    T0,
  );
  expect(renew.cancelRequested).toEqual([id("a")]);

  await finish(store, id("a"), claimed[0]?.leaseToken as string, { status: "failed", error: FLAKY, retryAt: T0 });
  expect((await store.getTask(id("a")))?.status).toBe("cancelled");
  const b = await store.getTask(id("b"));
  expect(b?.status).toBe("failed");
  expect(b?.error?.code).toBe("DEPENDENCY_FAILED");
  expect(b?.error?.details).toMatchObject({ dependencyId: id("a"), dependencyStatus: "cancelled" });
  expect((await store.getTask(id("root")))?.status).toBe("failed");
  const [execution] = await store.listExecutions({ rootId: id("root") });
  expect(execution?.status).toBe("failed");
  expect(execution?.remaining).toBe(0);
}

async function withStores(open: () => Promise<TaskStore>, check: (store: TaskStore) => Promise<void>): Promise<void> {
  const store = await open();
  try {
    await check(store);
  } finally {
    await store.close();
  }
}

function cases(open: () => Promise<TaskStore>): void {
  for (const [name, finish] of [
    ["finishTask", single],
    ["finishTasks", batched],
  ] as const) {
    it(`${name}: a retry outcome of a task whose tree was cancelled ends it cancelled, not re-queued`, () =>
      withStores(open, (s) => rootCancelBeatsOutcome(s, finish, { status: "failed", error: FLAKY, retryAt: T0 })));
    it(`${name}: a failed outcome of a task whose tree was cancelled ends it cancelled`, () =>
      withStores(open, (s) => rootCancelBeatsOutcome(s, finish, { status: "failed", error: FLAKY })));
    it(`${name}: a cancelled task's retry cascades as a cancellation to its required dependents`, () =>
      withStores(open, (s) => taskCancelCascades(s, finish)));
  }
}

describe("cancel wins over failure and retry on SQLite", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  cases(() => createPrismaStore({ url: dir.file() }));
});

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("cancel wins over failure and retry on PostgreSQL", () => {
  const database = useMigratedTestDatabase();
  cases(async () => {
    await truncateStore(database.url());
    return createPrismaStore({ url: database.url() });
  });
});
