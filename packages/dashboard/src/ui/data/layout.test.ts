import { describe, expect, it } from "vitest";
import { LARGE_TREE, MAX_GROUPED_TASKS, type LayoutTask, layoutTree, readingOrder } from "./layout.js";

const dep = (id: string, required = true) => ({ id, required });

describe("layoutTree (dagre, left to right)", () => {
  it("puts dependencies left of the tasks that need them and boxes parents with their children", () => {
    const tasks: LayoutTask[] = [
      { id: "root", parentId: null, dependencies: [dep("report")] },
      { id: "report", parentId: "root", dependencies: [dep("a"), dep("b", false)] },
      { id: "a", parentId: "report", dependencies: [] },
      { id: "b", parentId: "report", dependencies: [dep("a")] },
    ];
    const l = layoutTree(tasks);
    const at = new Map(l.nodes.map((n) => [n.id, n]));
    const x = (id: string) => at.get(id)?.x ?? Number.NaN;
    expect(x("a")).toBeLessThan(x("b"));
    expect(x("b")).toBeLessThan(x("report"));
    expect(l.edges.map((e) => `${e.from}>${e.to}:${e.required}`).sort()).toEqual([
      "a>b:true",
      "a>report:true",
      "b>report:false",
      "report>root:true",
    ]);
    expect(l.edges.every((e) => e.points.length >= 2)).toBe(true);
    // The root's box would be the whole graph; "report" boxes itself and its children.
    expect(l.groups.map((g) => g.taskId)).toEqual(["report"]);
    const g = l.groups[0];
    for (const n of l.nodes.filter((n) => n.id !== "root")) {
      expect(n.x).toBeGreaterThanOrEqual(g?.x ?? Number.NaN);
      expect(n.x + n.width).toBeLessThanOrEqual((g?.x ?? 0) + (g?.width ?? 0) + 0.5);
    }
    expect(readingOrder(l.nodes)).toEqual(["a", "b", "report", "root"]);
    expect(l.width).toBeGreaterThan(0);
  });

  it("ignores dependencies outside the tree and self-references", () => {
    const l = layoutTree([{ id: "x", parentId: null, dependencies: [dep("elsewhere"), dep("x")] }]);
    expect(l.nodes).toHaveLength(1);
    expect(l.edges).toHaveLength(0);
    expect(l.groups).toHaveLength(0);
  });

  it("lays out a 1,000-task tree with its boxes (time printed, not asserted)", () => {
    const tasks: LayoutTask[] = [{ id: "root", parentId: null, dependencies: [] }];
    for (let g = 0; g < 10; g++) {
      tasks.push({ id: `g${g}`, parentId: "root", dependencies: [] });
      for (let i = 0; i < 99; i++) {
        const id = `g${g}-${i}`;
        tasks.push({ id, parentId: `g${g}`, dependencies: i > 0 ? [dep(`g${g}-${i - 1}`)] : [] });
      }
    }
    for (let g = 0; g < 10; g++) (tasks[0] as LayoutTask).dependencies.push(dep(`g${g}-98`));
    expect(tasks.length).toBeGreaterThan(LARGE_TREE);
    expect(tasks.length).toBeLessThan(MAX_GROUPED_TASKS);
    const l = layoutTree(tasks);
    expect(l.nodes).toHaveLength(1001);
    expect(l.groups).toHaveLength(10);
    const x = new Map(l.nodes.map((n) => [n.id, n.x]));
    // Still left to right: every dependency before the task that needs it.
    for (const t of tasks)
      for (const d of t.dependencies) expect(x.get(d.id) as number).toBeLessThan(x.get(t.id) as number);
    console.log(
      `layout of ${l.nodes.length} tasks (${l.groups.length} groups, ${l.edges.length} edges): ${l.ms.toFixed(0)} ms`,
    );
  });
});
