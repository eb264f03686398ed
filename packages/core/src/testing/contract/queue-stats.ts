import { expect } from "vitest";
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
];
