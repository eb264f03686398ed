import { type NewTask, type TaskStore, validateTasks } from "@aipartnerupflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { useMigratedTestDatabase, postgresReachable, requirePostgresInCi } from "../test-support/postgres.js";
import { tempDir } from "../test-support/sqlite.js";
import { createPrismaStore } from "./create.js";

/**
 * The raw-SQL reads return exactly what was written: values that a lossy path would change
 * (a REAL with 17 significant digits, JSON scalars, a JSON `null` result, unicode) and the
 * documented orders and filters.
 */
async function checkReads(store: TaskStore): Promise<void> {
  const now = new Date("2030-01-02T03:04:05.678Z");
  const [tree] = validateTasks(
    [
      { id: "root", name: "root", dependencies: ["a", "b"], metadata: { note: "é\u2028😀" } },
      { id: "a", name: "a", parentId: "root", inputs: { n: 12345678.123456789 }, userId: "u1" },
      { id: "b", name: "b", parentId: "root", priority: 0 },
    ],
    { now },
  );
  await store.createTasks(tree as NewTask[], now);
  await store.startExecution({ taskId: "root", now });
  const { claimed } = await store.claimReady({ owner: "o", limit: 10, leaseMs: 60_000, now });
  expect(claimed.map((c) => c.task.id).sort()).toEqual(["a", "b"]);
  const a = claimed.find((c) => c.task.id === "a");
  const b = claimed.find((c) => c.task.id === "b");
  if (!a || !b) throw new Error("not claimed");
  await store.reportProgress("a", a.leaseToken, 0.1 + 0.2, "working", now);
  await store.finishTask("b", b.leaseToken, { status: "completed", result: "text" }, now);

  const read = await store.getTask("a");
  expect(read?.progress).toBe(0.1 + 0.2);
  expect(read?.inputs).toEqual({ n: 12345678.123456789 });
  expect(read?.startedAt).toBe(now.toISOString());
  expect((await store.getTask("b"))?.result).toBe("text");
  expect((await store.getTask("root"))?.metadata).toEqual({ note: "é\u2028😀" });
  expect(await store.getTask("missing")).toBeNull();

  expect((await store.getTasks(["b", "missing", "root", "a"])).map((t) => t.id)).toEqual(["b", "root", "a"]);
  expect(await store.getTasks([])).toEqual([]);
  expect((await store.getChildren("root")).map((t) => t.id)).toEqual(["a", "b"]);
  expect((await store.getTree("root")).map((t) => t.id)).toEqual(["root", "a", "b"]);

  const page = await store.listTasks({ order: "-createdAt", limit: 2 });
  expect(page.total).toBe(3);
  expect(page.tasks.map((t) => t.id)).toEqual(["b", "a"]);
  expect((await store.listTasks({ offset: 1, limit: 5 })).tasks.map((t) => t.id)).toEqual(["a", "b"]);
  expect((await store.listTasks({ userId: "u1" })).tasks.map((t) => t.id)).toEqual(["a"]);
  expect((await store.listTasks({ userId: null })).total).toBe(2);
  expect((await store.listTasks({ status: [] })).total).toBe(0);
  expect((await store.listTasks({ status: ["completed", "in_progress"], parentId: "root" })).total).toBe(2);
  expect((await store.listTasks({ rootsOnly: true })).tasks.map((t) => t.id)).toEqual(["root"]);
  expect(await store.countByStatus({ rootId: "root" })).toMatchObject({ pending: 1, in_progress: 1, completed: 1 });

  expect((await store.getAttempts("a")).map((x) => [x.attempt, x.status, x.owner])).toEqual([[1, "in_progress", "o"]]);
  expect(await store.getAttempts("root")).toEqual([]);
  await expect(store.getAttempts("missing")).rejects.toThrow(/missing/);
  const [execution] = await store.listExecutions({ rootId: "root" });
  expect(execution?.status).toBe("running");
  expect(await store.getExecution(execution?.id as string)).toEqual(execution);
  expect(await store.getExecution("missing")).toBeNull();

  // A task's events without its root (no index by task: read through the tree's index).
  const ofTree = await store.readEvents({ rootId: "root" });
  const ofA = await store.readEvents({ taskId: "a" });
  expect(ofA).toEqual(ofTree.filter((e) => e.taskId === "a"));
  expect(ofA.map((e) => e.type)).toContain("task.started");
  expect(await store.readEvents({ taskId: "a", afterSeq: (ofA[0] as { seq: number }).seq })).toEqual(ofA.slice(1));
}

describe("raw-SQL reads on SQLite", () => {
  const dir = tempDir("apflow-reads-");
  afterAll(() => dir.remove());
  it("return what was written", async () => {
    const store = await createPrismaStore({ url: `file:${dir.file()}` });
    try {
      await checkReads(store);
    } finally {
      await store.close();
    }
  });
});

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("raw-SQL reads on PostgreSQL", () => {
  const database = useMigratedTestDatabase();
  it("return what was written", async () => {
    const store = await createPrismaStore({ url: database.url(), poolSize: 2 });
    try {
      await checkReads(store);
    } finally {
      await store.close();
    }
  });
});
