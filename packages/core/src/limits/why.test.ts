import { describe, expect, it } from "vitest";
import { MemoryStore } from "../store/memory-store.js";
import { readWaiting, treeExecution, treeWaiting } from "../task/waiting-read.js";
import { countLimitBlocked, nextRefillMs } from "./blocked.js";
import { limitCheckFor, limitSubjectOf } from "./why.js";
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

  it("the tree view (treeWaiting with limitCheckFor) names the limit as readWaiting does", async () => {
    const store = new MemoryStore();
    await store.limits.set({ scope: "root", maxRunning: 1 });
    const tasks = await queued(store, [
      { name: "root", dependencies: ["a", "b"] },
      { name: "a", parentId: "root", params: { executorId: "x" } },
      { name: "b", parentId: "root", params: { executorId: "x" } },
    ]);
    const claimed = await store.claimReady({ owner: "n", limit: 10, leaseMs: 1000, now: T0 });
    expect(claimed.claimed).toHaveLength(1);
    const tree = await store.getTree((tasks[0] as Task).rootId);
    const execution = await treeExecution(store, (tasks[0] as Task).rootId);
    const limitOf = await limitCheckFor(store, T0);
    const view = treeWaiting(tree, execution, new Map(), T0, null, limitOf);
    const held = tree.find((t) => t.status === "pending" && t.name !== "root") as Task;
    expect(view.get(held.id)).toMatchObject({ reason: "limit", scope: "root", ruleKey: null });
    expect(view.get(held.id)).toEqual(await readWaiting(store, held, T0));
    // Without the check the same task is only queued (the tree view before limits).
    expect(treeWaiting(tree, execution, new Map(), T0)?.get(held.id)?.reason).toBe("queued");
    expect(await limitCheckFor(new MemoryStore(), T0)).toBeNull();
  });
});

describe("limit-blocked counts and bucket refills", () => {
  it("countLimitBlocked counts each ready subject under the rule readWaiting would name", () => {
    const rules = [
      { scope: "user" as const, maxRunning: 1 },
      { scope: "executor" as const, key: "llm", maxRunning: 2 },
    ];
    const s = (userId: string, executor: string, n: number) => ({ userId, rootId: `r-${userId}`, executor, n });
    const counts = countLimitBlocked(
      rules,
      [s("u1", "x", 3), s("u2", "llm", 2), s("u3", "x", 1)],
      [s("u1", "x", 1), s("u4", "llm", 1), s("u5", "llm", 1)],
      new Map(),
      0,
    );
    expect(counts).toEqual([
      { scope: "user", key: null, blocked: 3 },
      { scope: "executor", key: "llm", blocked: 2 },
    ]);
    expect(countLimitBlocked([], [s("u1", "x", 1)], [], new Map(), 0)).toEqual([]);
    expect(limitSubjectOf({ userId: null, rootId: "r", params: {}, schemas: null } as never).executor).toBeNull();
  });

  it("nextRefillMs: when an empty bucket has a token again, under its current rule", () => {
    const rules = [{ scope: "user" as const, rate: { starts: 2, perMs: 1000 } }];
    const empty = { scope: "user" as const, key: "u1", tokens: 0, refilledMs: 10_000 };
    expect(nextRefillMs(rules, [empty], 10_000)).toBe(10_500);
    expect(nextRefillMs(rules, [empty], 10_200)).toBe(10_500);
    expect(nextRefillMs(rules, [empty], 10_500)).toBeNull();
    expect(nextRefillMs(rules, [{ ...empty, tokens: 1 }], 10_000)).toBeNull();
    // No rate rule covers executor buckets: ignored.
    expect(nextRefillMs(rules, [{ ...empty, scope: "executor" }], 10_000)).toBeNull();
  });
});
