import { describe, expect, it } from "vitest";
import { MemoryStore } from "../store/memory-store.js";
import { readWaiting } from "../task/waiting-read.js";
import { validateTasks } from "../tree/validate.js";
import type { NewTask, Task } from "../types.js";

const T0 = new Date("2030-01-01T00:00:00.000Z");

async function queued(store: MemoryStore, tasks: Parameters<typeof validateTasks>[0]): Promise<Task[]> {
  const [tree] = validateTasks(tasks, { now: T0 });
  const { tasks: created } = await store.createTasks(tree as NewTask[], T0);
  await store.startExecution({ taskId: (created[0] as Task).id, now: T0 });
  return created;
}

describe("why a task waits: limits and the root's runAt", () => {
  it("limit: names the rule and its key for a due, eligible task a limit blocks", async () => {
    const store = new MemoryStore();
    await store.limits.set({ scope: "user", maxRunning: 1 });
    await store.limits.set({ scope: "executor", key: "llm", maxRunning: 1 });
    const [a] = await queued(store, [{ name: "a", userId: "u1", params: { executorId: "x" } }]);
    const [b] = await queued(store, [{ name: "b", userId: "u1", params: { executorId: "x" } }]);
    const [c] = await queued(store, [{ name: "c", userId: "u2", params: { executorId: "llm" } }]);
    const [d] = await queued(store, [{ name: "d", userId: "u3", params: { executorId: "llm" } }]);
    const claimed = await store.claimReady({ owner: "n", limit: 10, leaseMs: 1000, now: T0 });
    expect(claimed.claimed.map((x) => x.task.name).sort()).toEqual(["a", "c"]);
    const wb = await readWaiting(store, (await store.getTask((b as Task).id)) as Task, T0);
    expect(wb).toMatchObject({ reason: "limit", scope: "user", ruleKey: null, key: "u1", kind: "maxRunning" });
    expect(wb?.detail).toContain("default user limit");
    const wd = await readWaiting(store, (await store.getTask((d as Task).id)) as Task, T0);
    expect(wd).toMatchObject({ reason: "limit", scope: "executor", ruleKey: "llm", key: "llm" });
    expect(wd?.detail).toContain("executor limit for llm");
    // Its slot freed, the task is only queued again.
    const held = claimed.claimed.find((x) => x.task.id === (a as Task).id);
    await store.finishTask((a as Task).id, held?.leaseToken as string, { status: "completed", result: null }, T0);
    expect((await readWaiting(store, (await store.getTask((b as Task).id)) as Task, T0))?.reason).toBe("queued");
    expect(c).toBeDefined();
  });

  it("run_at: a child waits for its root's runAt", async () => {
    const store = new MemoryStore();
    const at = new Date(T0.getTime() + 60_000).toISOString();
    const tasks = await queued(store, [
      { name: "root", runAt: at, dependencies: ["kid"] },
      { name: "kid", parentId: "root" },
    ]);
    const kid = tasks.find((t) => t.name === "kid") as Task;
    expect(await readWaiting(store, kid, T0)).toMatchObject({ reason: "run_at", runAt: at });
  });
});
