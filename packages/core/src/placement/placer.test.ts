import { describe, expect, it } from "vitest";
import { InvalidPlacementError } from "../errors.js";
import type { Logger } from "../logger.js";
import { silentLogger } from "../logger.js";
import { MemoryStore } from "../store/memory-store.js";
import { Placer } from "./placer.js";
import { NOW, record, task } from "./test-fixtures.js";

function setup(placement?: ConstructorParameters<typeof Placer>[0]["placement"]) {
  const store = new MemoryStore();
  let now = NOW.getTime();
  let lists = 0;
  const list = store.nodes.list.bind(store.nodes);
  store.nodes.list = () => {
    lists += 1;
    return list();
  };
  const warnings: unknown[] = [];
  const logger: Logger = { ...silentLogger, warn: (obj: unknown) => void warnings.push(obj) };
  const placer = new Placer({ store, clock: () => new Date(now), logger, ...(placement ? { placement } : {}) });
  return {
    store,
    placer,
    warnings,
    lists: () => lists,
    advance: (ms: number) => {
      now += ms;
    },
    register: async (id: string, over: Parameters<typeof record>[1] = {}) => {
      await store.nodes.register(record(id, over), new Date(now));
    },
  };
}

describe("Placer", () => {
  it("capability (the default) places nothing and reads neither the registry nor the tasks", async () => {
    const s = setup();
    await s.register("n1");
    let reads = 0;
    const tasks = async () => {
      reads += 1;
      return [task("t", null)];
    };
    expect(s.placer.places()).toBe(false);
    expect(await s.placer.place(tasks)).toBeUndefined();
    expect(await s.placer.place(tasks, { granularity: "root" })).toBeUndefined();
    expect(s.lists()).toBe(0);
    expect(reads).toBe(0);
  });

  it("a store without a node registry: no placement, whatever the strategy", async () => {
    const store = new MemoryStore();
    const bare = Object.create(store, { nodes: { value: undefined } }) as MemoryStore;
    const placer = new Placer({
      store: bare,
      clock: () => NOW,
      logger: silentLogger,
      placement: { strategy: "round-robin" },
    });
    expect(placer.places()).toBe(false);
    expect(await placer.place([task("t", null)])).toBeUndefined();
  });

  it("reads the registry at most once a second, and again when the read is older", async () => {
    const s = setup({ strategy: "round-robin" });
    await s.register("n1");
    await s.register("n2");
    expect(await s.placer.place([task("t1", null)])).toEqual({ assign: { t1: "n1" } });
    s.advance(500);
    expect(await s.placer.place([task("t2", null)])).toEqual({ assign: { t2: "n2" } });
    expect(s.lists()).toBe(1);
    s.advance(600);
    expect(await s.placer.place([task("t3", null)])).toEqual({ assign: { t3: "n1" } });
    expect(s.lists()).toBe(2);
  });

  it("views the nodes at its clock: a node silent past its beats is no longer placed on", async () => {
    const s = setup({ strategy: "round-robin" });
    await s.register("n1");
    s.advance(3500);
    await s.register("n2");
    expect(await s.placer.place([task("a", null), task("b", null)])).toEqual({ assign: { a: "n2", b: "n2" } });
  });

  it("without a live node: no tasks are read, affinity still follows dependencies", async () => {
    const s = setup({ strategy: "round-robin" });
    let reads = 0;
    const tasks = async () => {
      reads += 1;
      return [task("t", null)];
    };
    expect(await s.placer.place(tasks)).toBeUndefined();
    expect(await s.placer.place(tasks, { strategy: "affinity" })).toEqual({ followDependencies: true });
    expect(reads).toBe(0);
  });

  it("a call's options override the engine's field by field", async () => {
    const s = setup({ strategy: "round-robin", granularity: "root" });
    expect(s.placer.optionsFor({ strategy: "least-loaded" })).toEqual({
      strategy: "least-loaded",
      granularity: "root",
    });
    expect(s.placer.optionsFor({ granularity: "task" })).toEqual({ strategy: "round-robin", granularity: "task" });
    expect(s.placer.optionsFor({ strategy: "capability" })).toEqual({ strategy: "capability", granularity: "root" });
    expect(s.placer.places({ strategy: "capability" })).toBe(false);
  });

  it("refuses bad options: the engine's at construction, a call's when it is made", () => {
    const store = new MemoryStore();
    expect(
      () => new Placer({ store, clock: () => NOW, logger: silentLogger, placement: { strategy: "random" as never } }),
    ).toThrow(InvalidPlacementError);
    const s = setup();
    expect(() => s.placer.places({ granularity: "leaf" as never })).toThrow(/placement\.granularity must be one of/);
  });

  it("a registry that cannot be read places nothing and says so", async () => {
    const s = setup({ strategy: "least-loaded" });
    s.store.nodes.list = () => Promise.reject(new Error("connection refused"));
    expect(await s.placer.place([task("t", null)])).toBeUndefined();
    expect(s.warnings).toHaveLength(1);
  });

  it("placeTask places over the task's whole tree", async () => {
    const s = setup({ strategy: "round-robin", granularity: "root" });
    await s.register("n1");
    const [tree] = [
      await s.store.createTasks(
        [
          { ...newTask("r", null), params: {} },
          { ...newTask("c", "r"), params: { executorId: "work" } },
        ],
        NOW,
      ),
    ];
    expect(tree?.tasks).toHaveLength(2);
    expect(await s.placer.placeTask("c")).toEqual({ assign: { r: "n1", c: "n1" } });
    expect(await s.placer.placeTask("missing")).toBeUndefined();
  });
});

function newTask(id: string, parentId: string | null) {
  return {
    id,
    parentId,
    rootId: "r",
    userId: null,
    name: id,
    status: "pending" as const,
    priority: 2 as const,
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
    createdAt: NOW.toISOString(),
    startedAt: null,
    completedAt: null,
  };
}
