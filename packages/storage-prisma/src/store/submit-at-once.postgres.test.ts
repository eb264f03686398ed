import { ApflowError, ErrorCode, type NewTask, type TaskStore, validateTasks } from "@aipartnerupflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { submitsAtOnce } from "../sql/submit-at-once.js";
import { postgresReachable, requirePostgresInCi, useMigratedTestDatabase } from "../test-support/postgres.js";
import { createPrismaStore } from "./create.js";

/**
 * PostgreSQL's one-statement submit (`submitAtOnce`, taken for fresh self-contained trees): the
 * guarantees of the transaction it replaces — all trees or none, the duplicate-id refusal naming
 * every id, unresolved counts from the tree itself, seq order across concurrent submitters.
 */
const T0 = new Date("2030-01-01T00:00:00.000Z");

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

function trees(inputs: unknown[]): NewTask[][] {
  return validateTasks(inputs, { now: T0, trees: "many" });
}

function starts(list: NewTask[][]) {
  return list.map((tree, i) => ({ rootId: (tree[0] as NewTask).rootId, executionId: `x-${tree[0]?.id}-${i}` }));
}

describe("submitsAtOnce", () => {
  it("takes fresh self-contained trees, not ones that refer to stored tasks", () => {
    const [own] = trees([{ id: "a", name: "a" }]);
    expect(submitsAtOnce(own as NewTask[])).toBe(true);
    const dependsOnStored = (own as NewTask[]).map((t) => ({ ...t, dependencies: [{ id: "stored", required: true }] }));
    expect(submitsAtOnce(dependsOnStored)).toBe(false);
    const underStored = (own as NewTask[]).map((t) => ({ ...t, parentId: "stored" }));
    expect(submitsAtOnce(underStored)).toBe(false);
    const finished = (own as NewTask[]).map((t) => ({ ...t, status: "completed" as const }));
    expect(submitsAtOnce(finished)).toBe(false);
  });
});

describe.skipIf(!reachable)("PostgreSQL: submit in one statement", () => {
  const database = useMigratedTestDatabase();
  let a: TaskStore;
  let b: TaskStore;

  beforeAll(async () => {
    a = await createPrismaStore({ url: database.url(), poolSize: 4 });
    b = await createPrismaStore({ url: database.url(), poolSize: 4 });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  it("stores every tree or none: an existing id refuses the whole submission, naming each such id", async () => {
    const first = trees([
      { id: "dup-1", name: "one" },
      { id: "dup-2", name: "two" },
    ]);
    await a.submitTrees?.(first.flat(), starts(first), T0);
    const second = trees([
      { id: "fresh-1", name: "new" },
      { id: "dup-1", name: "again" },
      { id: "dup-2", name: "again" },
    ]);
    const err = await a.submitTrees?.(second.flat(), starts(second), T0).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApflowError);
    expect((err as ApflowError).code).toBe(ErrorCode.InvalidTask);
    expect((err as ApflowError).message).toContain("dup-1");
    expect((err as ApflowError).message).toContain("dup-2");
    expect(await a.getTask("fresh-1")).toBeNull();
    expect((await a.readEvents({ rootId: "fresh-1" })).length).toBe(0);
  });

  it("two submissions racing for the same ids: one is stored, the other refused as a duplicate (never a deadlock)", async () => {
    for (let round = 0; round < 10; round++) {
      const [p, q] = [`race-${round}-p`, `race-${round}-q`];
      const one = trees([
        { id: p, name: "p" },
        { id: q, name: "q" },
      ]);
      const two = trees([
        { id: q, name: "q" },
        { id: p, name: "p" },
      ]).map((tree) => tree.map((t) => ({ ...t })));
      const submit = (store: TaskStore, list: NewTask[][]) =>
        (store.submitTrees as NonNullable<TaskStore["submitTrees"]>)(
          list.flat(),
          list.map((tree, i) => ({
            rootId: (tree[0] as NewTask).rootId,
            executionId: `x-race-${round}-${i}-${store === a ? "a" : "b"}`,
          })),
          T0,
        ).then(
          () => "stored",
          (err: unknown) => (err instanceof ApflowError && err.code === ErrorCode.InvalidTask ? "duplicate" : err),
        );
      const outcomes = await Promise.all([submit(a, one), submit(b, two)]);
      expect(outcomes.sort()).toEqual(["duplicate", "stored"]);
    }
  });

  it("writes each task's unresolved count: only tasks without dependencies are claimable", async () => {
    const tree = trees([
      {
        id: "r",
        name: "root",
      },
      { id: "c1", name: "c1", parentId: "r" },
      { id: "c2", name: "c2", parentId: "r", dependencies: [{ id: "c1" }] },
      { id: "c3", name: "c3", parentId: "r", dependencies: [{ id: "c1" }, { id: "c2", required: false }] },
    ]);
    const r = await a.submitTrees?.(tree.flat(), starts(tree), T0);
    expect(r?.executions[0]?.total).toBe(4);
    expect(r?.tasks.find((t) => t.id === "r")?.hasChildren).toBe(true);
    const { claimed } = await a.claimReady({ owner: "n", limit: 1000, leaseMs: 60_000, now: T0 });
    const inTree = (list: typeof claimed) => list.filter((c) => c.task.rootId === "r").map((c) => c.task.id);
    expect(inTree(claimed).sort()).toEqual(["c1", "r"]);
    const c1 = claimed.find((c) => c.task.id === "c1");
    await a.finishTask("c1", c1?.leaseToken as string, { status: "completed", result: 1 }, T0);
    const next = await a.claimReady({ owner: "n", limit: 1000, leaseMs: 60_000, now: T0 });
    expect(inTree(next.claimed)).toEqual(["c2"]);
    expect((await a.getTask("c3"))?.dependencies).toEqual([
      { id: "c1", required: true },
      { id: "c2", required: false },
    ]);
  });

  it("hands out seqs in commit order to concurrent submitters, each tree's created events before its start", async () => {
    const before = (await a.readEvents({})).at(-1)?.seq ?? 0;
    const batches = Array.from({ length: 24 }, (_, i) =>
      trees([
        { id: `cc-${i}`, name: "c" },
        { name: "k", parentId: `cc-${i}` },
      ]),
    );
    const returned = await Promise.all(
      batches.map((t, i) =>
        ((i % 2 === 0 ? a : b).submitTrees as NonNullable<TaskStore["submitTrees"]>)(t.flat(), starts(t), T0),
      ),
    );
    const stored = await b.readEvents({ afterSeq: before });
    expect(stored.length).toBe(24 * 3);
    expect(new Set(stored.map((e) => e.seq)).size).toBe(stored.length);
    const bySeq = new Map(stored.map((e) => [e.seq, e]));
    for (const r of returned) {
      const events = r.events;
      expect(events.map((e) => e.type)).toEqual(["task.created", "task.created", "tree.started"]);
      // The events lock is held from the first seq drawn to the commit: one submission's seqs are consecutive.
      expect(events.map((e) => e.seq - (events[0]?.seq ?? 0))).toEqual([0, 1, 2]);
      for (const e of events) expect(bySeq.get(e.seq)?.taskId).toBe(e.taskId);
    }
  });
});
