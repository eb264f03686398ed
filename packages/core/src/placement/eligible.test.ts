import { describe, expect, it } from "vitest";
import { canRun, eligibleNodes, isLive } from "./eligible.js";
import { NOW, node, task } from "./test-fixtures.js";

const ago = (ms: number) => new Date(NOW.getTime() - ms);

describe("eligible nodes", () => {
  it("idle, active and overloaded nodes are live", () => {
    expect(node("idle").state).toBe("idle");
    expect(node("active", { running: 2 }).state).toBe("active");
    expect(node("hot", { load: 3 }).state).toBe("overloaded");
    for (const n of [node("idle"), node("active", { running: 2 }), node("hot", { load: 3 })])
      expect(isLive(n)).toBe(true);
  });

  it("draining, stale, dead and producer-only nodes are not", () => {
    const draining = node("d", { draining: true });
    const stale = node("s", { heartbeatAt: ago(3500) });
    const dead = node("x", { heartbeatAt: ago(6000) });
    const producer = node("p", { concurrency: 0 });
    expect([draining.state, stale.state, dead.state]).toEqual(["draining", "stale", "dead"]);
    for (const n of [draining, stale, dead, producer]) expect(isLive(n)).toBe(false);
  });

  it("a node runs a task when it has its executor and every required tag", () => {
    const gpu = node("g", { tags: ["gpu", "eu"] });
    expect(canRun(gpu, task("t", null))).toBe(true);
    expect(canRun(gpu, task("t", null, { executor: "other" }))).toBe(false);
    expect(canRun(gpu, task("t", null, { placement: { requires: ["gpu"] } }))).toBe(true);
    expect(canRun(gpu, task("t", null, { placement: { requires: ["gpu", "eu"] } }))).toBe(true);
    expect(canRun(gpu, task("t", null, { placement: { requires: ["gpu", "us"] } }))).toBe(false);
    // prefers is soft: it never makes a node unable.
    expect(canRun(node("plain"), task("t", null, { placement: { prefers: ["gpu"] } }))).toBe(true);
  });

  it("a grouping task (no executor) fits any node", () => {
    expect(canRun(node("n", { executors: [] }), task("g", null, { executor: null }))).toBe(true);
  });

  it("eligibleNodes keeps the live capable ones, sorted by node id", () => {
    const nodes = [
      node("c"),
      node("a", { executors: ["other"] }),
      node("b", { draining: true }),
      node("e", { heartbeatAt: ago(6000) }),
      node("d", { running: 1 }),
    ];
    expect(eligibleNodes(nodes, task("t", null)).map((n) => n.nodeId)).toEqual(["c", "d"]);
  });
});
