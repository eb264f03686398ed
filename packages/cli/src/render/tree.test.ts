import type { Task } from "@aipartnerupflow/core";
import { createTask } from "@aipartnerupflow/core/testing";
import { describe, expect, it } from "vitest";
import { createPalette } from "./colors.js";
import { renderTree } from "./tree.js";

const task = (id: string, parentId: string | null, extra: Partial<Task> = {}): Task =>
  createTask({
    id,
    name: id,
    parentId,
    rootId: "r",
    status: "completed",
    progress: 1,
    createdAt: "2025-01-01T00:00:00.000Z",
    updatedAt: "2025-01-01T00:00:00.000Z",
    startedAt: "2025-01-01T00:00:00.000Z",
    completedAt: "2025-01-01T00:00:01.500Z",
    ...extra,
  });

describe("renderTree", () => {
  it("draws parents and children with branches, executors, durations, dependencies and errors", () => {
    const tasks = [
      task("r", null, {
        params: { executorId: "aggregate_results" },
        dependencies: [
          { id: "a", required: true },
          { id: "b", required: false },
        ],
        status: "failed",
        error: { code: "DEPENDENCY_FAILED", message: "dependency a failed" },
      }),
      task("a", "r", { status: "failed", error: { code: "BOOM", message: "it broke" } }),
      task("a1", "a"),
      task("b", "r", { status: "in_progress", progress: 0.5, completedAt: null }),
    ];
    const lines = renderTree(tasks, {
      palette: createPalette(false),
      ids: false,
      now: Date.parse("2025-01-01T00:00:02.000Z"),
    });
    expect(lines).toEqual([
      "✖ r  failed  [aggregate_results]  1.5s  needs a, b?",
      "│   error DEPENDENCY_FAILED: dependency a failed",
      "├─ ✖ a  failed  1.5s",
      "│  │   error BOOM: it broke",
      "│  └─ ✔ a1  completed  1.5s",
      "└─ ◐ b  in_progress  50%  2.0s",
    ]);
  });

  it("draws a subtree (parent not in the list) as a root, and colours only when asked", () => {
    const plain = renderTree([task("child", "missing-parent")], { palette: createPalette(false) });
    expect(plain).toEqual(["✔ child  completed  1.5s  child"]);
    const coloured = renderTree([task("child", "missing-parent")], { palette: createPalette(true) });
    expect(coloured[0]).toContain("\x1b[32m✔\x1b[39m");
  });

  it("prints no duration for a task handed back and pending again (startedAt left from its attempt)", () => {
    const lines = renderTree(
      [
        task("r", null, { status: "in_progress", progress: 0, completedAt: null }),
        task("back", "r", { status: "pending", progress: 0, completedAt: null, attempt: 1 }),
        task("retry", "r", { status: "pending", progress: 0, completedAt: null, attempt: 2 }),
      ],
      { palette: createPalette(false), ids: false, now: Date.parse("2025-01-01T00:01:00.000Z") },
    );
    expect(lines).toEqual(["◐ r  in_progress  1m00s", "├─ ○ back  pending", "└─ ○ retry  pending  attempt 2"]);
  });
});
