import { describe, expect, it } from "vitest";
import { ErrorCode, InvalidPlacementError } from "../errors.js";
import type { NodeView } from "../nodes/types.js";
import { checkPlacementOptions, planPlacement } from "./plan.js";
import { newPlacementCursor } from "./strategies.js";
import { NOW, node, task, threeBranches } from "./test-fixtures.js";
import type { PlacementGranularity, PlacementOptions, PlacementTask, PlacementUnit } from "./types.js";

const three = () => [node("n1"), node("n2"), node("n3")];
const plan = (tasks: PlacementTask[], nodes: NodeView[], options: PlacementOptions, cursor = newPlacementCursor()) =>
  planPlacement(tasks, nodes, options, cursor);
/** Node id → the task ids placed on it. */
const byNode = (assign: Record<string, string> | undefined) => {
  const out: Record<string, string[]> = {};
  for (const [t, n] of Object.entries(assign ?? {})) (out[n] ??= []).push(t);
  return out;
};

describe("planPlacement: capability", () => {
  it("places nothing, at every granularity", () => {
    for (const granularity of ["task", "subtree", "root"] as const) {
      expect(plan(threeBranches(), three(), { granularity })).toEqual({});
      expect(plan(threeBranches(), three(), { strategy: "capability", granularity })).toEqual({});
    }
  });
});

describe("planPlacement: round-robin", () => {
  it("task: units in tree order rotate over the nodes sorted by id", () => {
    const p = plan(threeBranches(), [node("n3"), node("n1"), node("n2")], { strategy: "round-robin" });
    expect(p.followDependencies).toBeUndefined();
    expect(p.assign).toEqual({
      r: "n1",
      a: "n2",
      a1: "n3",
      a2: "n1",
      b: "n2",
      b1: "n3",
      b2: "n1",
      c: "n2",
      c1: "n3",
      c2: "n1",
    });
  });

  it("subtree: the root takes a turn, then each branch sticks to one node and branches spread", () => {
    const p = plan(threeBranches(), three(), { strategy: "round-robin", granularity: "subtree" });
    expect(byNode(p.assign)).toEqual({ n1: ["r", "c", "c1", "c2"], n2: ["a", "a1", "a2"], n3: ["b", "b1", "b2"] });
  });

  it("root: the whole tree on one node; the turn goes on with the next execution", () => {
    const cursor = newPlacementCursor();
    const first = plan(threeBranches(), three(), { strategy: "round-robin", granularity: "root" }, cursor);
    expect(new Set(Object.values(first.assign ?? {}))).toEqual(new Set(["n1"]));
    expect(Object.keys(first.assign ?? {})).toHaveLength(10);
    const second = plan(threeBranches(), three(), { strategy: "round-robin", granularity: "root" }, cursor);
    expect(new Set(Object.values(second.assign ?? {}))).toEqual(new Set(["n2"]));
    expect(cursor.turn).toBe(2);
  });

  it("skips nodes that are not eligible: draining, stale, dead, without the executor or a required tag", () => {
    const nodes = [
      node("n0", { draining: true }),
      node("n1", { tags: ["gpu"] }),
      node("n2", { heartbeatAt: new Date(NOW.getTime() - 3500) }),
      node("n3", { heartbeatAt: new Date(NOW.getTime() - 60_000) }),
      node("n4", { executors: ["other"], tags: ["gpu"] }),
      node("n5"),
    ];
    const tasks = [
      task("r", null, { executor: null }),
      task("t1", "r"),
      task("t2", "r"),
      task("g", "r", { placement: { requires: ["gpu"] } }),
    ];
    const p = plan(tasks, nodes, { strategy: "round-robin" });
    expect(p.assign).toEqual({ r: "n1", t1: "n5", t2: "n1", g: "n1" });
  });
});

describe("planPlacement: least-loaded", () => {
  it("task: the node with the lowest (running + placed) / concurrency, ties by id", () => {
    const nodes = [
      node("a", { running: 2, concurrency: 4 }),
      node("b", { running: 1, concurrency: 1 }),
      node("c", { running: 3, concurrency: 8 }),
    ];
    // loads: a 0.5, b 1, c 0.375 → c; then c 0.5 ties a 0.5 → a (id); then a 0.75, c 0.5 → c ...
    const tasks = [task("t1", null), task("t2", null), task("t3", null), task("t4", null)];
    expect(plan(tasks, nodes, { strategy: "least-loaded" }).assign).toEqual({ t1: "c", t2: "a", t3: "c", t4: "c" });
  });

  it("counts what it placed since the node's last heartbeat, and forgets it at the next beat", () => {
    const cursor = newPlacementCursor();
    const tasks = [task("t1", null)];
    const before = [node("a"), node("b")];
    expect(plan(tasks, before, { strategy: "least-loaded" }, cursor).assign).toEqual({ t1: "a" });
    expect(plan([task("t2", null)], before, { strategy: "least-loaded" }, cursor).assign).toEqual({ t2: "b" });
    expect(plan([task("t3", null)], before, { strategy: "least-loaded" }, cursor).assign).toEqual({ t3: "a" });
    // a beat again: its own count (running 0) replaces what this engine counted.
    const beat = [node("a", { heartbeatAt: new Date(NOW.getTime() + 1) }), node("b")];
    expect(plan([task("t4", null)], beat, { strategy: "least-loaded" }, cursor).assign).toEqual({ t4: "a" });
  });

  it("subtree: each branch counts its tasks on its node", () => {
    const p = plan(threeBranches(), [node("a"), node("b")], { strategy: "least-loaded", granularity: "subtree" });
    // r → a (a: 1); branch a → b (b: 3); branch b → a (a: 4); branch c → b (3/4 below 4/4).
    expect(byNode(p.assign)).toEqual({ a: ["r", "b", "b1", "b2"], b: ["a", "a1", "a2", "c", "c1", "c2"] });
  });

  it("root: one node for the tree, the least loaded", () => {
    const p = plan(threeBranches(), [node("a", { running: 1 }), node("b")], {
      strategy: "least-loaded",
      granularity: "root",
    });
    expect(new Set(Object.values(p.assign ?? {}))).toEqual(new Set(["b"]));
  });
});

describe("planPlacement: affinity", () => {
  const gpuNodes = () => [
    node("a"),
    node("b", { tags: ["gpu"] }),
    node("c", { tags: ["gpu", "ssd"] }),
    node("d", { tags: ["gpu", "ssd"], running: 2 }),
  ];

  it("follows dependencies, and places only units whose head prefers a tag", () => {
    const tasks = [
      task("t1", null),
      task("t2", null, { placement: { prefers: ["gpu", "ssd"] } }),
      task("t3", null, { placement: { prefers: ["gpu"] } }),
    ];
    const p = plan(tasks, gpuNodes(), { strategy: "affinity" });
    expect(p.followDependencies).toBe(true);
    // t2: c and d hold both, c less loaded; t3: b, c, d hold gpu: b (0) ties c? c has t2 placed → b.
    expect(p.assign).toEqual({ t2: "c", t3: "b" });
  });

  it("without preferences or without a node holding the preferred tag: dependency affinity only", () => {
    expect(plan(threeBranches(), gpuNodes(), { strategy: "affinity" })).toEqual({ followDependencies: true });
    const tasks = [task("t", null, { placement: { prefers: ["tpu"] } })];
    expect(plan(tasks, gpuNodes(), { strategy: "affinity" })).toEqual({ followDependencies: true });
  });

  it("subtree and root: the head's preference places the whole unit", () => {
    const tasks = threeBranches();
    const b = tasks.find((t) => t.id === "b") as PlacementTask;
    b.placement = { prefers: ["ssd"] };
    expect(plan(tasks, gpuNodes(), { strategy: "affinity", granularity: "subtree" }).assign).toEqual({
      b: "c",
      b1: "c",
      b2: "c",
    });
    const root = tasks[0] as PlacementTask;
    root.placement = { prefers: ["gpu"] };
    const p = plan(tasks, gpuNodes(), { strategy: "affinity", granularity: "root" });
    expect(new Set(Object.values(p.assign ?? {}))).toEqual(new Set(["b"]));
    expect(Object.keys(p.assign ?? {})).toHaveLength(10);
  });
});

describe("planPlacement: prefers narrows the other strategies", () => {
  it("round-robin and least-loaded pick among nodes holding a preferred tag when any does", () => {
    const nodes = [node("a"), node("b", { tags: ["gpu"], running: 3 }), node("c", { tags: ["gpu"] })];
    const tasks = [0, 1, 2].map((i) => task(`g${i}`, null, { placement: { prefers: ["gpu", "fpga"] } }));
    expect(plan(tasks, nodes, { strategy: "round-robin" }).assign).toEqual({ g0: "b", g1: "c", g2: "b" });
    expect(plan(tasks, nodes, { strategy: "least-loaded" }).assign).toEqual({ g0: "c", g1: "c", g2: "c" });
    const none = [task("t", null, { placement: { prefers: ["tpu"] } })];
    expect(plan(none, nodes, { strategy: "round-robin" }).assign).toEqual({ t: "a" });
  });
});

describe("planPlacement: what a unit's node cannot run is left unassigned", () => {
  it.each(["round-robin", "least-loaded"] as const)(
    "%s, subtree: a branch task needing another executor or tag",
    (strategy) => {
      const tasks = [
        task("r", null, { executor: null }),
        task("a", "r"),
        task("a1", "a", { executor: "special" }),
        task("a2", "a", { placement: { requires: ["gpu"] } }),
        task("a3", "a"),
      ];
      const p = plan(tasks, [node("n1"), node("n2", { executors: ["work", "special"], tags: ["gpu"] })], {
        strategy,
        granularity: "subtree",
      });
      // The root goes to n1, then branch a to n2, which can run all of it.
      expect(p.assign).toEqual({ r: "n1", a: "n2", a1: "n2", a2: "n2", a3: "n2" });
      // With n1 alone, a1 (executor special) and a2 (requires gpu) get no preference.
      const lone = plan(tasks, [node("n1")], { strategy, granularity: "subtree" });
      expect(lone.assign).toEqual({ r: "n1", a: "n1", a3: "n1" });
    },
  );

  it("a unit whose head no live node can run is not placed", () => {
    const tasks = [task("x", null, { executor: "nobody-has-it" }), task("y", "x")];
    expect(plan(tasks, three(), { strategy: "round-robin", granularity: "root" })).toEqual({});
    expect(plan(threeBranches(), [], { strategy: "round-robin", granularity: "subtree" })).toEqual({});
  });
});

describe("planPlacement: custom function", () => {
  const granularities: PlacementGranularity[] = ["task", "subtree", "root"];

  it.each(granularities)(
    "%s: called per unit with the eligible nodes; its choice is the unit's node",
    (granularity) => {
      const seen: Array<[string, string[], number]> = [];
      const fn = (unit: PlacementUnit, nodes: NodeView[]) => {
        seen.push([unit.head.id, nodes.map((n) => n.nodeId), unit.tasks.length]);
        return unit.head.id === "b" || unit.head.id === "r" ? "n3" : null;
      };
      const p = plan(threeBranches(), [node("n2"), node("n1"), node("n3"), node("x", { draining: true })], {
        strategy: fn,
        granularity,
      });
      expect(seen.every(([, nodes]) => nodes.join() === "n1,n2,n3")).toBe(true);
      expect(p.followDependencies).toBeUndefined();
      if (granularity === "root") {
        expect(seen.map((s) => s[0])).toEqual(["r"]);
        expect(Object.keys(p.assign ?? {})).toHaveLength(10);
      } else if (granularity === "subtree") {
        expect(seen.map((s) => [s[0], s[2]])).toEqual([
          ["r", 1],
          ["a", 3],
          ["b", 3],
          ["c", 3],
        ]);
        expect(p.assign).toEqual({ r: "n3", b: "n3", b1: "n3", b2: "n3" });
      } else {
        expect(seen).toHaveLength(10);
        expect(p.assign).toEqual({ r: "n3", b: "n3" });
      }
    },
  );

  it("returning a node that is not eligible is a typed error naming the node and the unit head", () => {
    const nodes = [node("n1"), node("gone", { draining: true })];
    for (const chosen of ["gone", "unknown"]) {
      const fn = () => chosen;
      let error: unknown;
      try {
        plan([task("t1", null)], nodes, { strategy: fn });
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(InvalidPlacementError);
      const e = error as InvalidPlacementError;
      expect(e.code).toBe(ErrorCode.InvalidParams);
      expect(e.message).toContain(`"${chosen}"`);
      expect(e.message).toContain("task t1");
      expect(e.data).toEqual({ nodeId: chosen, taskId: "t1" });
    }
  });

  it("returning something other than a node id is refused too", () => {
    const fn = (() => 42) as unknown as () => string;
    expect(() => plan([task("t1", null)], [node("n1")], { strategy: fn })).toThrow(InvalidPlacementError);
  });

  it("is not called for a unit no node can run", () => {
    let calls = 0;
    const fn = () => {
      calls += 1;
      return "n1";
    };
    expect(plan([task("t", null, { executor: "none" })], [node("n1")], { strategy: fn })).toEqual({});
    expect(calls).toBe(0);
  });
});

describe("checkPlacementOptions", () => {
  it("refuses an unknown strategy or granularity by name", () => {
    expect(() => checkPlacementOptions({ strategy: "random" as never })).toThrow(
      /placement\.strategy must be one of capability, round-robin, least-loaded, affinity or a function, got "random"/,
    );
    expect(() => checkPlacementOptions({ granularity: "branch" as never }, "EngineOptions.placement")).toThrow(
      /EngineOptions\.placement\.granularity must be one of task, subtree, root, got "branch"/,
    );
    expect(() => plan([], [], { strategy: "nope" as never })).toThrow(InvalidPlacementError);
    expect(() => checkPlacementOptions({ strategy: "affinity", granularity: "root" })).not.toThrow();
  });
});
