import { MemoryStore, Registry, type Task, validateTasks } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { createPalette } from "../render/colors.js";
import { queueReport } from "../render/waiting.js";
import { LocalBackend } from "./local.js";

const T0 = new Date("2030-01-01T00:00:00.000Z");

describe("LocalBackend: limits in the tree view and the queue report", () => {
  it("treeWaiting names the limit holding back a queued task; queueStats counts it per rule", async () => {
    const store = new MemoryStore();
    await store.limits.set({ scope: "root", maxRunning: 1 });
    const [tree] = validateTasks(
      [
        { name: "root", dependencies: ["a", "b"] },
        { name: "a", parentId: "root", params: { executorId: "x" } },
        { name: "b", parentId: "root", params: { executorId: "x" } },
      ],
      { now: T0 },
    );
    const { tasks } = await store.createTasks(tree as never, T0);
    const rootId = (tasks[0] as Task).rootId;
    await store.startExecution({ taskId: rootId, now: T0 });
    const { claimed } = await store.claimReady({ owner: "n", limit: 10, leaseMs: 60_000, now: T0 });
    expect(claimed).toHaveLength(1);

    const backend = new LocalBackend({ store, registry: new Registry(), location: "memory", concurrency: 1 });
    const waiting = await backend.treeWaiting(await store.getTree(rootId));
    const held = (await store.getTree(rootId)).find((t) => t.status === "pending" && t.name !== "root") as Task;
    expect(waiting.get(held.id)).toMatchObject({ reason: "limit", scope: "root", ruleKey: null, key: rootId });

    const report = await backend.queueStats();
    expect(report.queue?.limitBlocked).toEqual([{ scope: "root", key: null, blocked: 1 }]);
    const lines = queueReport(report, createPalette(false)).join("\n");
    expect(lines).toMatch(/LIMIT\s+KEY\s+HOLDS BACK/);
    expect(lines).toMatch(/root\s+\(default\)\s+1/);
  });
});
