import { expect } from "vitest";
import { limitsOf } from "../../limits/types.js";
import { readWaiting } from "../../task/waiting-read.js";
import { queueStatsOf, type QueueStatsReader } from "../../queue/types.js";
import type { TaskStore } from "../../store/types.js";
import type { Task } from "../../types.js";
import { at, create, LEASE, OWNER, start } from "./support.js";

/**
 * The queue-stats facet (`queueStats`, src/queue/): ready depth, oldest ready age, delayed
 * count, per user and per executor. Run by `describeQueueStatsContract` on every store that has
 * the facet; each check takes a fresh, empty store.
 */
export interface QueueStatsCheck {
  name: string;
  run(store: TaskStore): Promise<void>;
}

function reader(store: TaskStore): QueueStatsReader {
  const r = queueStatsOf(store);
  if (!r) throw new Error("this store has no queueStats facet");
  return r;
}

const iso = (ms: number) => at(ms).toISOString();

async function twoUsers(store: TaskStore): Promise<{ one: Map<string, Task>; two: Map<string, Task> }> {
  const one = await create(store, [
    { name: "root", userId: "u1", dependencies: ["a", "b", "c"] },
    { name: "a", parentId: "root", userId: "u1", params: { executorId: "x" } },
    { name: "b", parentId: "root", userId: "u1", params: { executorId: "y" }, dependencies: ["a"] },
    { name: "c", parentId: "root", userId: "u1", params: { executorId: "x" }, runAt: iso(60_000) },
  ]);
  const two = await create(store, [{ name: "solo", userId: "u2", schemas: { method: "y" } }]);
  return { one, two };
}

export const queueStatsChecks: QueueStatsCheck[] = [
  {
    name: "queue stats: an empty store, and tasks no execution queued, are not ready",
    async run(store) {
      const empty = await reader(store).queueStats({ now: at(0) });
      expect(empty).toEqual({
        ready: 0,
        oldestReadySince: null,
        oldestReadyAgeMs: 0,
        delayed: 0,
        byUser: [],
        byExecutor: [],
        truncated: false,
        limitBlocked: [],
      });
      await twoUsers(store);
      expect((await reader(store).queueStats({ now: at(5000) })).ready).toBe(0);
    },
  },
  {
    name: "queue stats: ready depth, oldest ready age and delayed, overall, per user, per executor",
    async run(store) {
      const { one, two } = await twoUsers(store);
      await start(store, (one.get("root") as Task).id, at(1000));
      const first = await reader(store).queueStats({ now: at(3000) });
      expect(first).toEqual({
        ready: 1,
        oldestReadySince: iso(1000),
        oldestReadyAgeMs: 2000,
        delayed: 1,
        byUser: [{ userId: "u1", ready: 1, oldestReadySince: iso(1000), oldestReadyAgeMs: 2000 }],
        byExecutor: [{ executorId: "x", ready: 1, oldestReadySince: iso(1000), oldestReadyAgeMs: 2000 }],
        truncated: false,
        limitBlocked: [],
      });

      await start(store, (two.get("solo") as Task).id, at(2000));
      const both = await reader(store).queueStats({ now: at(3000) });
      expect(both.ready).toBe(2);
      expect(both.byUser.map((g) => [g.userId, g.ready, g.oldestReadyAgeMs])).toEqual([
        ["u1", 1, 2000],
        ["u2", 1, 1000],
      ]);
      expect(both.byExecutor.map((g) => [g.executorId, g.ready, g.oldestReadySince])).toEqual([
        ["x", 1, iso(1000)],
        ["y", 1, iso(2000)],
      ]);

      // a runs and completes at 4 s: b has been ready since then (its dependency's finish).
      const { claimed } = await store.claimReady({ owner: OWNER, limit: 1, leaseMs: LEASE, now: at(3000) });
      expect(claimed.map((c) => c.task.name)).toEqual(["a"]);
      const a = claimed[0] as (typeof claimed)[number];
      await store.finishTask(a.task.id, a.leaseToken, { status: "completed", result: null }, at(4000));
      const later = await reader(store).queueStats({ now: at(5000) });
      expect(later).toMatchObject({ ready: 2, oldestReadySince: iso(2000), oldestReadyAgeMs: 3000, delayed: 1 });
      expect(later.byExecutor).toEqual([
        { executorId: "y", ready: 2, oldestReadySince: iso(2000), oldestReadyAgeMs: 3000 },
      ]);
      expect(later.byUser.map((g) => [g.userId, g.oldestReadySince])).toEqual([
        ["u2", iso(2000)],
        ["u1", iso(4000)],
      ]);

      // One user only; breakdowns cut at maxGroups.
      const mine = await reader(store).queueStats({ now: at(5000), userId: "u1" });
      expect(mine).toMatchObject({ ready: 1, oldestReadySince: iso(4000), delayed: 1 });
      const cut = await reader(store).queueStats({ now: at(5000), maxGroups: 1 });
      expect(cut.byUser.map((g) => g.userId)).toEqual(["u2"]);
      expect(cut.truncated).toBe(true);

      // Past c's runAt it is ready too, since its runAt.
      const due = await reader(store).queueStats({ now: at(70_000) });
      expect(due).toMatchObject({ ready: 3, delayed: 0 });
      expect(due.byExecutor.find((g) => g.executorId === "x")).toEqual({
        executorId: "x",
        ready: 1,
        oldestReadySince: iso(60_000),
        oldestReadyAgeMs: 10_000,
      });
    },
  },
  {
    name: "queue stats: running and finished tasks leave the queue; a grouping task counts under a null executor",
    async run(store) {
      const tasks = await create(store, [
        { name: "group" },
        { name: "w", parentId: "group", params: { executorId: "x" } },
      ]);
      await start(store, (tasks.get("group") as Task).id, at(100));
      const before = await reader(store).queueStats({ now: at(200) });
      expect(before.ready).toBe(2);
      expect(before.byExecutor.map((g) => g.executorId).sort()).toEqual([null, "x"].sort());
      expect(before.byUser).toEqual([{ userId: null, ready: 2, oldestReadySince: iso(100), oldestReadyAgeMs: 100 }]);
      const { claimed } = await store.claimReady({ owner: OWNER, limit: 10, leaseMs: LEASE, now: at(200) });
      expect(claimed).toHaveLength(2);
      expect((await reader(store).queueStats({ now: at(300) })).ready).toBe(0);
      for (const c of claimed)
        await store.finishTask(c.task.id, c.leaseToken, { status: "completed", result: null }, at(300));
      expect(await reader(store).queueStats({ now: at(400) })).toMatchObject({ ready: 0, delayed: 0 });
    },
  },
  {
    name: "queue stats: limit-blocked tasks per rule, as the why-waiting reason names them",
    async run(store) {
      const limits = limitsOf(store);
      if (!limits) return;
      await limits.set({ scope: "user", maxRunning: 1 });
      await limits.set({ scope: "user", key: "u3", rate: { starts: 1, perMs: 10_000 } });
      await limits.set({ scope: "executor", key: "llm", maxRunning: 1 });
      const spec: Array<[string, string, string]> = [
        ["a", "u1", "x"],
        ["b", "u1", "x"],
        ["c", "u1", "x"],
        ["d", "u2", "llm"],
        ["e", "u4", "llm"],
        ["f", "u3", "x"],
        ["g", "u3", "x"],
      ];
      const byName = new Map<string, Task>();
      for (const [name, userId, executorId] of spec) {
        const t = (await create(store, [{ name, userId, params: { executorId } }], at(0))).get(name) as Task;
        await start(store, t.id, at(0));
        byName.set(name, t);
      }
      const { claimed } = await store.claimReady({ owner: OWNER, limit: 10, leaseMs: LEASE, now: at(0) });
      expect(claimed.map((c) => c.task.name).sort()).toEqual(["a", "d", "f"]);
      const stats = await reader(store).queueStats({ now: at(0) });
      expect(stats.ready).toBe(4);
      expect(stats.limitBlocked).toEqual([
        { scope: "user", key: null, blocked: 2 },
        { scope: "user", key: "u3", blocked: 1 },
        { scope: "executor", key: "llm", blocked: 1 },
      ]);
      // The same rules the why-waiting reason names, task by task.
      for (const [name, scope, ruleKey] of [
        ["b", "user", null],
        ["c", "user", null],
        ["e", "executor", "llm"],
        ["g", "user", "u3"],
      ] as const) {
        const task = (await store.getTask((byName.get(name) as Task).id)) as Task;
        expect(await readWaiting(store, task, at(0)), name).toMatchObject({ reason: "limit", scope, ruleKey });
      }
      // One user's view counts that user's tasks only.
      const mine = await reader(store).queueStats({ now: at(0), userId: "u1" });
      expect(mine.limitBlocked).toEqual([{ scope: "user", key: null, blocked: 2 }]);
      // a finishes: b and c are only queued; the bucket of u3 refills after 10 s.
      const a = claimed.find((c) => c.task.name === "a") as (typeof claimed)[number];
      await store.finishTask(a.task.id, a.leaseToken, { status: "completed", result: null }, at(1000));
      expect((await reader(store).queueStats({ now: at(1000) })).limitBlocked).toEqual([
        { scope: "user", key: "u3", blocked: 1 },
        { scope: "executor", key: "llm", blocked: 1 },
      ]);
      expect((await reader(store).queueStats({ now: at(10_000) })).limitBlocked).toEqual([
        { scope: "executor", key: "llm", blocked: 1 },
      ]);
    },
  },
  {
    name: "queue stats: limit-blocked by a tree's limit and a user's running-trees limit",
    async run(store) {
      const limits = limitsOf(store);
      if (!limits) return;
      await limits.set({ scope: "root", maxRunning: 1 });
      await limits.set({ scope: "user", maxRunningRoots: 1 });
      const one = await create(store, [
        { name: "root", userId: "u1", dependencies: ["a", "b", "c"] },
        { name: "a", parentId: "root", userId: "u1", params: { executorId: "x" } },
        { name: "b", parentId: "root", userId: "u1", params: { executorId: "x" } },
        { name: "c", parentId: "root", userId: "u1", params: { executorId: "x" } },
      ]);
      const two = await create(store, [{ name: "other", userId: "u1", params: { executorId: "x" } }]);
      await start(store, (one.get("root") as Task).id, at(0));
      const { claimed } = await store.claimReady({ owner: OWNER, limit: 1, leaseMs: LEASE, now: at(0) });
      expect(claimed).toHaveLength(1);
      await start(store, (two.get("other") as Task).id, at(0));
      const stats = await reader(store).queueStats({ now: at(0) });
      expect(stats.ready).toBe(3);
      // The tree's two other children by the root rule; the second tree by the user's one running tree.
      expect(stats.limitBlocked).toEqual([
        { scope: "user", key: null, blocked: 1 },
        { scope: "root", key: null, blocked: 2 },
      ]);
    },
  },
];
