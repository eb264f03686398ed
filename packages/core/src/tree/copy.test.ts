import { beforeEach, describe, expect, it } from "vitest";
import { Engine } from "../engine/engine.js";
import { ErrorCode } from "../errors.js";
import type { TaskStore } from "../store/types.js";
import { Registry } from "../registry/registry.js";
import { MemoryStore } from "../store/memory-store.js";
import type { Task, TaskInput } from "../types.js";
import { copyTask } from "./copy.js";

let engine: Engine;
let ran: string[];
let failing: Set<string>;

beforeEach(() => {
  ran = [];
  failing = new Set(["b"]);
  const registry = new Registry();
  registry.registerExecutor({
    id: "work",
    execute: (_inputs, ctx) => {
      ran.push(ctx.task.name);
      if (failing.has(ctx.task.name)) throw new Error(`${ctx.task.name} broke`);
      return `${ctx.task.name} done`;
    },
  });
  engine = new Engine({ store: new MemoryStore(), registry });
});

const tree: TaskInput[] = [
  { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["a", "b", "c"] },
  { name: "a", parentId: "root", params: { executorId: "work" } },
  { name: "b", parentId: "root", params: { executorId: "work" } },
  { name: "c", parentId: "root", params: { executorId: "work" }, dependencies: ["b"] },
  { name: "d", parentId: "root", params: { executorId: "work" } },
];

async function failedRun(): Promise<Map<string, Task>> {
  const outcome = await engine.runTree(tree);
  expect(outcome.status).toBe("failed");
  ran = [];
  return new Map(outcome.tasks.map((t) => [t.name, t]));
}

describe("copy", () => {
  it("minimal: the failed part and its dependents re-run; what they need comes along completed", async () => {
    const original = await failedRun();
    const copy = (await engine.copy((original.get("b") as Task).id)) as Task[];
    expect(copy.map((t) => [t.name, t.status]).sort()).toEqual([
      ["a", "completed"],
      ["b", "pending"],
      ["c", "pending"],
      ["root", "pending"],
    ]);
    for (const t of copy) {
      expect(t.originalTaskId).toBe(original.get(t.name)?.id);
      expect(t.id).not.toBe(original.get(t.name)?.id);
    }
    const copiedA = copy.find((t) => t.name === "a") as Task;
    expect(copiedA.result).toBe("a done");
    failing.clear();
    const rootCopy = copy.find((t) => t.parentId === null) as Task;
    const outcome = await (await engine.execute(rootCopy.id)).done;
    expect(outcome.status).toBe("completed");
    expect(ran.sort()).toEqual(["b", "c"]);
    const root = outcome.tasks.find((t) => t.name === "root") as Task;
    expect(root.result).toEqual({ results: { a: "a done", b: "b done", c: "c done" }, count: 3 });
    // Dependencies point at the copies, never at the original tree.
    const ids = new Set(outcome.tasks.map((t) => t.id));
    for (const t of outcome.tasks) for (const d of t.dependencies) expect(ids.has(d.id)).toBe(true);
  });

  it("full: the whole tree, finished tasks outside the re-run set copied as completed", async () => {
    const original = await failedRun();
    const copy = (await engine.copy((original.get("b") as Task).id, { mode: "full" })) as Task[];
    expect(copy.map((t) => [t.name, t.status]).sort()).toEqual([
      ["a", "completed"],
      ["b", "pending"],
      ["c", "pending"],
      ["d", "completed"],
      ["root", "pending"],
    ]);
  });

  it("custom: chosen tasks plus their unfinished upstream; save: false returns the array", async () => {
    const original = await failedRun();
    const flat = (await engine.copy((original.get("root") as Task).id, {
      mode: "custom",
      taskIds: [(original.get("c") as Task).id],
      save: false,
    })) as TaskInput[];
    expect(flat.map((t) => t.name).sort()).toEqual(["a", "b", "c", "root"]);
    expect(flat.find((t) => t.name === "b")?.status).toBeUndefined();
    expect(await engine.store.listTasks()).toMatchObject({ total: 5 });
    const created = await engine.createTree(flat, { allowFinishedTasks: true });
    expect(created).toHaveLength(4);
  });

  it("a dependency that is neither copied nor completed is an error, never dropped", async () => {
    const outcome = await engine.runTree([
      { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["b", "y"] },
      { name: "b", parentId: "root", params: { executorId: "work" } },
      { name: "y", parentId: "root", params: { executorId: "work" } },
    ]);
    const y = outcome.tasks.find((t) => t.name === "y") as Task;
    await expect(engine.copy(y.id)).rejects.toMatchObject({ code: ErrorCode.InvalidDependency });
  });

  it("resetFields is validated", async () => {
    const original = await failedRun();
    await expect(engine.copy((original.get("b") as Task).id, { resetFields: ["name" as never] })).rejects.toMatchObject(
      { code: ErrorCode.InvalidParams },
    );
  });

  it("an ancestor kept for structure does not drag in its own failed dependencies", async () => {
    // The root failed through y; z (which needs its completed sibling x) has nothing to do with y.
    const outcome = await engine.runTree([
      { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["x", "y"] },
      { name: "x", parentId: "root", params: { executorId: "work" } },
      { name: "y", parentId: "root", params: { executorId: "work" } },
      { name: "z", parentId: "root", params: { executorId: "work" }, dependencies: ["x"] },
    ]);
    failing.add("y");
    const byName = new Map(outcome.tasks.map((t) => [t.name, t]));
    expect(byName.get("root")?.status).toBe("completed");
    // Re-run the tree so that y fails and the root fails through it.
    const rerun = await (await engine.execute((byName.get("root") as Task).id, { rerun: "all" })).done;
    const after = new Map(rerun.tasks.map((t) => [t.name, t]));
    expect(after.get("root")?.status).toBe("failed");
    expect(after.get("y")?.status).toBe("failed");
    expect(after.get("z")?.status).toBe("completed");

    const copy = (await engine.copy((after.get("z") as Task).id)) as Task[];
    expect(copy.map((t) => [t.name, t.status]).sort()).toEqual([
      ["root", "pending"],
      ["x", "completed"],
      ["z", "pending"],
    ]);
    const root = copy.find((t) => t.name === "root") as Task;
    const x = copy.find((t) => t.name === "x") as Task;
    expect(root.dependencies).toEqual([{ id: x.id, required: true }]);
    ran = [];
    failing.clear();
    const done = await (await engine.execute(root.id)).done;
    expect(done.status).toBe("completed");
    expect(ran).toEqual(["z"]);
  });

  it("a dependent that re-runs still needs every dependency (only structure is exempt)", async () => {
    // w re-runs because it depends on z, and w needs y, which failed: that is not structure.
    failing = new Set(["y"]);
    const outcome = await engine.runTree([
      { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["y"] },
      { name: "y", parentId: "root", params: { executorId: "work" } },
      { name: "z", parentId: "root", params: { executorId: "work" } },
      {
        name: "w",
        parentId: "root",
        params: { executorId: "work" },
        dependencies: ["z", { id: "y", required: false }],
      },
    ]);
    const z = outcome.tasks.find((t) => t.name === "z") as Task;
    await expect(engine.copy(z.id)).rejects.toMatchObject({
      code: ErrorCode.InvalidDependency,
      data: { errors: [{ code: "dependency_not_copied" }] },
    });
  });

  it("copying a 10,000-deep chain is linear: each task's parent is read a bounded number of times", async () => {
    const reads = { count: 0 };
    const chain = (n: number): Task[] => {
      const tasks: Task[] = [];
      for (let i = 0; i < n; i++) {
        const parentId = i === 0 ? null : `t${i - 1}`;
        const t = {
          id: `t${i}`,
          rootId: "t0",
          name: `t${i}`,
          status: i === n - 1 ? "failed" : "completed",
          dependencies: [],
          inputs: {},
          params: { executorId: "work" },
          schemas: {},
          metadata: {},
        } as unknown as Task;
        Object.defineProperty(t, "parentId", {
          get: () => {
            reads.count++;
            return parentId;
          },
          enumerable: true,
        });
        tasks.push(t);
      }
      return tasks;
    };
    for (const n of [2_500, 10_000]) {
      const tasks = chain(n);
      const byId = new Map(tasks.map((t) => [t.id, t]));
      const store = {
        getTask: async (id: string) => byId.get(id) ?? null,
        getTree: async () => tasks,
      } as unknown as TaskStore;
      reads.count = 0;
      const fromRoot = await copyTask(store, "t0");
      expect(fromRoot).toHaveLength(n);
      expect(reads.count).toBeLessThan(10 * n);
      // The deepest task's copy keeps the whole chain above it (completed) for structure.
      reads.count = 0;
      const fromLeaf = await copyTask(store, `t${n - 1}`);
      expect(fromLeaf).toHaveLength(1);
      expect(reads.count).toBeLessThan(10 * n);
      // Every copy points at its copied parent: the chain is intact.
      const ids = new Map(fromRoot.map((t) => [t.originalTaskId, t.id]));
      for (let i = 1; i < n; i++) expect(fromRoot[i]?.parentId).toBe(ids.get(`t${i - 1}`));
    }
  });
});

describe("copy and placement", () => {
  it("copies a task's placement, never the node it was placed on", async () => {
    const store = new MemoryStore();
    const { tasks } = await store.createTasks(
      [
        {
          id: "r",
          parentId: null,
          rootId: "r",
          userId: null,
          name: "root",
          status: "pending",
          priority: 2,
          dependencies: [],
          inputs: {},
          params: {},
          schemas: {},
          result: null,
          error: null,
          progress: 0,
          attempt: 0,
          retry: null,
          runAt: null,
          originalTaskId: null,
          metadata: {},
          createdAt: "2030-01-01T00:00:00.000Z",
          startedAt: null,
          completedAt: null,
          placement: { requires: ["gpu"] },
        },
      ],
      new Date("2030-01-01T00:00:00.000Z"),
    );
    expect(tasks[0]?.placement).toEqual({ requires: ["gpu"] });
    await store.startExecution({
      taskId: "r",
      placement: { assign: { r: "node-b" } },
      now: new Date("2030-01-01T00:00:01.000Z"),
    });
    expect((await store.getTask("r"))?.placedOn).toBe("node-b");
    const [copy] = await copyTask(store, "r");
    expect(copy?.placement).toEqual({ requires: ["gpu"] });
    expect(copy).not.toHaveProperty("placedOn");
  });
});
