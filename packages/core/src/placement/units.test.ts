import { describe, expect, it } from "vitest";
import { task, threeBranches } from "./test-fixtures.js";
import { placementUnits } from "./units.js";

const shape = (units: ReturnType<typeof placementUnits>) => units.map((u) => [u.head.id, u.tasks.map((t) => t.id)]);

describe("placementUnits", () => {
  it("task: each task alone, in tree order (depth first)", () => {
    expect(shape(placementUnits(threeBranches(), "task"))).toEqual([
      ["r", ["r"]],
      ["a", ["a"]],
      ["a1", ["a1"]],
      ["a2", ["a2"]],
      ["b", ["b"]],
      ["b1", ["b1"]],
      ["b2", ["b2"]],
      ["c", ["c"]],
      ["c1", ["c1"]],
      ["c2", ["c2"]],
    ]);
  });

  it("subtree: the root alone, then each branch with everything below it", () => {
    expect(shape(placementUnits(threeBranches(), "subtree"))).toEqual([
      ["r", ["r"]],
      ["a", ["a", "a1", "a2"]],
      ["b", ["b", "b1", "b2"]],
      ["c", ["c", "c1", "c2"]],
    ]);
  });

  it("root: the whole tree as one unit", () => {
    expect(shape(placementUnits(threeBranches(), "root"))).toEqual([
      ["r", ["r", "a", "a1", "a2", "b", "b1", "b2", "c", "c1", "c2"]],
    ]);
  });

  it("tree order does not depend on the order tasks are given in, but siblings keep theirs", () => {
    const tasks = threeBranches().reverse();
    expect(shape(placementUnits(tasks, "subtree"))).toEqual([
      ["r", ["r"]],
      ["c", ["c", "c2", "c1"]],
      ["b", ["b", "b2", "b1"]],
      ["a", ["a", "a2", "a1"]],
    ]);
  });

  it("several trees, and a task whose parent is not given, are tops of their own", () => {
    const tasks = [
      task("x", null, { rootId: "x" }),
      task("x1", "x", { rootId: "x" }),
      task("y1", "y", { rootId: "y" }),
      task("y11", "y1", { rootId: "y" }),
    ];
    expect(shape(placementUnits(tasks, "subtree"))).toEqual([
      ["x", ["x"]],
      ["x1", ["x1"]],
      ["y1", ["y1"]],
      ["y11", ["y11"]],
    ]);
    expect(shape(placementUnits(tasks, "root"))).toEqual([
      ["x", ["x", "x1"]],
      ["y1", ["y1", "y11"]],
    ]);
    expect(placementUnits(tasks, "root").map((u) => u.granularity)).toEqual(["root", "root"]);
  });

  it("no tasks, no units", () => {
    expect(placementUnits([], "task")).toEqual([]);
  });
});
