import { expect } from "vitest";
import { limitsOf } from "../../limits/types.js";
import { nextRefillAt } from "../../limits/why.js";
import type { LimitRule } from "../../limits/types.js";
import { handBackOutcome } from "../../store/rules.js";
import type { ClaimedTask, TaskStore } from "../../store/types.js";
import type { Task, TaskInput } from "../../types.js";
import { at, claimAll, create, family, LEASE, names, OWNER, start, T0 } from "./support.js";

/**
 * The claim under limits (docs/semantics.md#limits): every scope, their combination, order while
 * waiting, no head-of-line blocking, release on every outcome, start rates on the store's clock.
 */

async function rules(store: TaskStore, list: LimitRule[]): Promise<void> {
  const facet = limitsOf(store);
  if (!facet) throw new Error("this store has no limits facet");
  for (const rule of list) await facet.set(rule);
}

/** One executing single-task tree per entry, created (and queued) in order. */
async function queue(store: TaskStore, tasks: TaskInput[], now = T0): Promise<Task[]> {
  const out: Task[] = [];
  for (const t of tasks) {
    const created = await create(store, [t], now);
    const task = created.get(t.name) as Task;
    await start(store, task.id, now);
    out.push(task);
  }
  return out;
}

async function claim(store: TaskStore, limit: number, now = T0): Promise<ClaimedTask[]> {
  return (await store.claimReady({ owner: OWNER, limit, leaseMs: LEASE, now })).claimed;
}

const done = (store: TaskStore, c: ClaimedTask, now = T0) =>
  store.finishTask(c.task.id, c.leaseToken, { status: "completed", result: null }, now);

const sorted = (claimed: ClaimedTask[]) => names(claimed).sort();

export const limitClaimChecks = family("limits", [
  {
    name: "start rate: nextRefillAt names when an empty bucket has a token again; the claim takes the task then",
    async run(store) {
      await rules(store, [{ scope: "executor", key: "llm", rate: { starts: 2, perMs: 1000 } }]);
      expect(await nextRefillAt(store, T0)).toBeNull();
      await queue(
        store,
        ["a", "b", "c"].map((name) => ({ name, params: { executorId: "llm" } })),
      );
      expect(names(await claim(store, 10))).toEqual(["a", "b"]);
      // Two starts per second: one token every 500 ms.
      expect(await nextRefillAt(store, T0)).toEqual(at(500));
      expect(await nextRefillAt(store, at(200))).toEqual(at(500));
      expect(await claim(store, 10, at(499))).toEqual([]);
      expect(await nextRefillAt(store, at(499))).toEqual(at(500));
      expect(names(await claim(store, 10, at(500)))).toEqual(["c"]);
      // c took the token it had: empty again, refilled 500 ms later.
      expect(await nextRefillAt(store, at(500))).toEqual(at(1000));
      expect(await nextRefillAt(store, at(1000))).toBeNull();
    },
  },
  {
    name: "global limit: at most maxRunning tasks in progress; a finished one frees its slot",
    async run(store) {
      await rules(store, [{ scope: "global", maxRunning: 2 }]);
      await queue(
        store,
        ["a", "b", "c", "d"].map((name) => ({ name })),
      );
      const first = await claimAll(store);
      expect(names(first)).toEqual(["a", "b"]);
      expect(await claimAll(store)).toEqual([]);
      await done(store, first[0] as ClaimedTask);
      expect(names(await claimAll(store))).toEqual(["c"]);
    },
  },
  {
    name: "user limit: a default for every user, an override replacing it for one user",
    async run(store) {
      await rules(store, [
        { scope: "user", maxRunning: 2 },
        { scope: "user", key: "u3", maxRunning: 1 },
      ]);
      const tasks: TaskInput[] = [];
      for (const u of ["u1", "u2", "u3"]) for (let i = 0; i < 3; i++) tasks.push({ name: `${u}-${i}`, userId: u });
      tasks.push({ name: "nobody" });
      await queue(store, tasks);
      expect(sorted(await claimAll(store))).toEqual(["nobody", "u1-0", "u1-1", "u2-0", "u2-1", "u3-0"]);
    },
  },
  {
    name: "user maxRunningRoots: a second tree of the user waits while the first runs; its own tasks do not",
    async run(store) {
      await rules(store, [{ scope: "user", maxRunningRoots: 1 }]);
      const one = await create(store, [
        { name: "r1", userId: "u1", dependencies: ["a", "b"] },
        { name: "a", parentId: "r1", userId: "u1" },
        { name: "b", parentId: "r1", userId: "u1" },
      ]);
      const two = await create(store, [{ name: "r2", userId: "u1" }]);
      const other = await create(store, [{ name: "r3", userId: "u2" }]);
      await start(store, (one.get("r1") as Task).id);
      await start(store, (two.get("r2") as Task).id);
      await start(store, (other.get("r3") as Task).id);
      const first = await claimAll(store);
      expect(sorted(first)).toEqual(["a", "b", "r3"]);
      for (const c of first) await done(store, c);
      const root = await claimAll(store);
      expect(names(root)).toEqual(["r1"]);
      await done(store, root[0] as ClaimedTask);
      expect(names(await claimAll(store))).toEqual(["r2"]);
    },
  },
  {
    name: "root limit: a default for every tree and an override for one root id",
    async run(store) {
      const leaves = (r: string): TaskInput[] => [
        { name: r, dependencies: [`${r}-a`, `${r}-b`, `${r}-c`] },
        ...["a", "b", "c"].map((x) => ({ name: `${r}-${x}`, parentId: r })),
      ];
      const one = await create(store, leaves("t1"));
      const two = await create(store, leaves("t2"));
      const rootTwo = (two.get("t2") as Task).id;
      await rules(store, [
        { scope: "root", maxRunning: 1 },
        { scope: "root", key: rootTwo, maxRunning: 2 },
      ]);
      await start(store, (one.get("t1") as Task).id);
      await start(store, rootTwo);
      expect(sorted(await claimAll(store))).toEqual(["t1-a", "t2-a", "t2-b"]);
    },
  },
  {
    name: "executor limit: counted per executor id across every owner",
    async run(store) {
      await rules(store, [{ scope: "executor", key: "llm", maxRunning: 1 }]);
      await queue(store, [
        { name: "l1", params: { executorId: "llm" } },
        { name: "l2", schemas: { method: "llm" } },
        { name: "x1", params: { executorId: "x" } },
        { name: "x2", schemas: { method: "x" } },
      ]);
      expect(sorted(await claimAll(store, T0, "node-a"))).toEqual(["l1", "x1", "x2"]);
      expect(await claimAll(store, T0, "node-b")).toEqual([]);
    },
  },
  {
    name: "combined limits: a task needs a slot in every limit that applies to it",
    async run(store) {
      await rules(store, [
        { scope: "global", maxRunning: 3 },
        { scope: "user", maxRunning: 2 },
        { scope: "executor", key: "llm", maxRunning: 1 },
      ]);
      await queue(store, [
        { name: "u1-llm", userId: "u1", params: { executorId: "llm" } },
        { name: "u1-x", userId: "u1", params: { executorId: "x" } },
        { name: "u2-llm", userId: "u2", params: { executorId: "llm" } },
        { name: "u2-x1", userId: "u2", params: { executorId: "x" } },
        { name: "u2-x2", userId: "u2", params: { executorId: "x" } },
      ]);
      const first = await claimAll(store);
      expect(sorted(first)).toEqual(["u1-llm", "u1-x", "u2-x1"]);
      await done(store, first.find((c) => c.task.name === "u1-x") as ClaimedTask);
      expect(names(await claimAll(store))).toEqual(["u2-x2"]);
      await done(store, first.find((c) => c.task.name === "u1-llm") as ClaimedTask);
      // The llm slot is free, but u2 has two tasks running (its user limit).
      expect(await claimAll(store)).toEqual([]);
      await done(store, first.find((c) => c.task.name === "u2-x1") as ClaimedTask);
      expect(names(await claimAll(store))).toEqual(["u2-llm"]);
    },
  },
  {
    name: "waiting tasks keep priority-then-FIFO order",
    async run(store) {
      await rules(store, [{ scope: "global", maxRunning: 1 }]);
      await queue(store, [
        { name: "first" },
        { name: "low", priority: 3 },
        { name: "second" },
        { name: "urgent", priority: 0 },
      ]);
      const order: string[] = [];
      for (let i = 0; i < 4; i++) {
        const got = await claimAll(store);
        expect(got).toHaveLength(1);
        order.push(...names(got));
        await done(store, got[0] as ClaimedTask);
      }
      expect(order).toEqual(["urgent", "first", "second", "low"]);
    },
  },
  {
    name: "no head-of-line blocking: a blocked user's queued tasks never hold back another user's",
    async run(store) {
      await rules(store, [{ scope: "user", maxRunning: 1 }]);
      const tasks: TaskInput[] = [];
      for (let i = 0; i < 30; i++) tasks.push({ name: `busy-${i}`, userId: "busy", priority: 0 });
      tasks.push({ name: "other", userId: "other", priority: 3 });
      await queue(store, tasks);
      expect(names(await claim(store, 1))).toEqual(["busy-0"]);
      expect(names(await claim(store, 1))).toEqual(["other"]);
      expect(await claim(store, 1)).toEqual([]);
    },
  },
  {
    name: "slots are released on completion, failure, cancellation, hand-back and lease expiry",
    async run(store) {
      await rules(store, [{ scope: "global", maxRunning: 1 }]);
      await queue(
        store,
        ["a", "b", "c", "d", "e", "f"].map((name) => ({ name })),
      );
      const next = async (now = T0): Promise<ClaimedTask> => {
        const got = await claimAll(store, now);
        expect(got).toHaveLength(1);
        expect(await claimAll(store, now)).toEqual([]);
        return got[0] as ClaimedTask;
      };
      const a = await next();
      await store.finishTask(a.task.id, a.leaseToken, { status: "completed", result: null }, T0);
      const b = await next();
      await store.finishTask(b.task.id, b.leaseToken, { status: "failed", error: { code: "X", message: "x" } }, T0);
      const c = await next();
      await store.cancel(c.task.id, { now: T0 });
      await store.finishTask(c.task.id, c.leaseToken, { status: "cancelled" }, T0);
      const d = await next();
      await store.finishTask(d.task.id, d.leaseToken, handBackOutcome(T0), T0);
      const again = await next();
      expect(again.task.name).toBe("d");
      // Lease expiry: nobody finishes `again`; once reclaimed its slot is free (and it runs again).
      expect(await claimAll(store, at(LEASE + 1))).toEqual([]);
      await store.reclaimExpired(at(LEASE + 1));
      const retaken = await next(at(LEASE + 2));
      expect(retaken.task.name).toBe("d");
      await store.finishTask(retaken.task.id, retaken.leaseToken, { status: "completed", result: null }, at(LEASE + 2));
      expect(names(await claimAll(store, at(LEASE + 2)))).toEqual(["e"]);
    },
  },
  {
    name: "a task waiting in backoff holds no slot",
    async run(store) {
      await rules(store, [{ scope: "global", maxRunning: 1 }]);
      await queue(store, [{ name: "a" }, { name: "b" }]);
      const [a] = await claimAll(store);
      const c = a as ClaimedTask;
      await store.finishTask(
        c.task.id,
        c.leaseToken,
        { status: "failed", error: { code: "X", message: "x" }, retryAt: at(60_000) },
        T0,
      );
      expect(names(await claimAll(store))).toEqual(["b"]);
    },
  },
  {
    name: "start rate per user: a token bucket refilled by the claim's clock",
    async run(store) {
      await rules(store, [{ scope: "user", rate: { starts: 2, perMs: 1000 } }]);
      await queue(store, [
        ...[0, 1, 2, 3, 4].map((i) => ({ name: `u1-${i}`, userId: "u1" })),
        { name: "u2-0", userId: "u2" },
      ]);
      const first = await claimAll(store, at(0));
      expect(sorted(first)).toEqual(["u1-0", "u1-1", "u2-0"]);
      for (const c of first) await done(store, c);
      // Finishing returns no token: starts are what the rate counts.
      expect(await claimAll(store, at(0))).toEqual([]);
      expect(await claimAll(store, at(499))).toEqual([]);
      expect(names(await claimAll(store, at(500)))).toEqual(["u1-2"]);
      expect(names(await claimAll(store, at(5_000)))).toEqual(["u1-3", "u1-4"]);
    },
  },
  {
    name: "start rate per executor, and a keyed executor rule replacing the default",
    async run(store) {
      await rules(store, [
        { scope: "executor", rate: { starts: 1, perMs: 1000 } },
        { scope: "executor", key: "fast", maxRunning: 10 },
      ]);
      await queue(store, [
        { name: "s1", params: { executorId: "slow" } },
        { name: "s2", params: { executorId: "slow" } },
        { name: "f1", params: { executorId: "fast" } },
        { name: "f2", params: { executorId: "fast" } },
      ]);
      expect(sorted(await claimAll(store, at(0)))).toEqual(["f1", "f2", "s1"]);
      expect(await claimAll(store, at(999))).toEqual([]);
      expect(names(await claimAll(store, at(1000)))).toEqual(["s2"]);
    },
  },
  {
    name: "a rule of another kind, set between two claims, holds from the next claim",
    async run(store) {
      await rules(store, [{ scope: "global", maxRunning: 10 }]);
      await queue(store, [
        ...[0, 1, 2, 3].map((i) => ({ name: `u1-${i}`, userId: "u1" })),
        ...[0, 1].map((i) => ({ name: `u2-${i}`, userId: "u2" })),
      ]);
      expect(names(await claim(store, 1))).toEqual(["u1-0"]);
      await rules(store, [{ scope: "user", maxRunningRoots: 1 }]);
      expect(names(await claimAll(store))).toEqual(["u2-0"]);
      await limitsOf(store)?.delete("user");
      await rules(store, [{ scope: "user", key: "u2", maxRunning: 1 }]);
      expect(sorted(await claimAll(store))).toEqual(["u1-1", "u1-2", "u1-3"]);
      await rules(store, [{ scope: "user", rate: { starts: 1, perMs: 1000 } }]);
      await queue(store, [
        { name: "u1-4", userId: "u1" },
        { name: "u1-5", userId: "u1" },
      ]);
      expect(names(await claimAll(store))).toEqual(["u1-4"]);
      expect(await claimAll(store)).toEqual([]);
    },
  },
  {
    name: "a rule deleted no longer holds tasks back",
    async run(store) {
      await rules(store, [{ scope: "global", maxRunning: 1 }]);
      await queue(store, [{ name: "a" }, { name: "b" }]);
      expect(names(await claimAll(store))).toEqual(["a"]);
      await limitsOf(store)?.delete("global");
      expect(names(await claimAll(store))).toEqual(["b"]);
    },
  },
]);

export const claimConditionChecks = family("claim", [
  {
    name: "a root's runAt holds back its whole tree, a child's own runAt only itself",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", runAt: at(5_000).toISOString(), dependencies: ["late"] },
        { name: "free", parentId: "root" },
        { name: "late", parentId: "root", runAt: at(8_000).toISOString() },
      ]);
      await start(store, (tasks.get("root") as Task).id);
      expect(await claimAll(store, at(0))).toEqual([]);
      expect(await claimAll(store, at(4_999))).toEqual([]);
      expect(names(await claimAll(store, at(5_000)))).toEqual(["free"]);
      expect(await claimAll(store, at(7_999))).toEqual([]);
      const late = await claimAll(store, at(8_000));
      expect(names(late)).toEqual(["late"]);
    },
  },
  {
    name: "executors allow-list: only tasks whose executor is listed (and grouping tasks) are claimed",
    async run(store) {
      await queue(store, [
        { name: "llm", params: { executorId: "llm" } },
        { name: "cmd", schemas: { method: "command" } },
        { name: "group" },
        { name: "echo", params: { executorId: "echo" } },
      ]);
      const picked = await store.claimReady({
        owner: OWNER,
        limit: 10,
        leaseMs: LEASE,
        now: T0,
        executors: ["echo", "command"],
      });
      expect(names(picked.claimed)).toEqual(["cmd", "group", "echo"]);
      const none = await store.claimReady({ owner: OWNER, limit: 10, leaseMs: LEASE, now: T0, executors: [] });
      expect(none.claimed).toEqual([]);
      expect(names(await claimAll(store))).toEqual(["llm"]);
    },
  },
]);
