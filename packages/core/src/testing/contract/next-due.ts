import { expect } from "vitest";
import type { TaskStore } from "../../store/types.js";
import type { Task } from "../../types.js";
import { at, claimAll, create, family, start, T0 } from "./support.js";

/** The store's `nextDueAt`; every store of the contract must have it (the engine wakes by it). */
function nextDueOf(store: TaskStore): (now: Date) => Promise<string | null> {
  const read = store.nextDueAt?.bind(store);
  if (!read) throw new Error("this store has no nextDueAt: the engine can only poll it");
  return async (now) => (await read({ now }))?.toISOString() ?? null;
}

export const nextDueChecks = family("claim", [
  {
    name: "nextDueAt: the earliest future runAt of a queued task whose dependencies are resolved",
    async run(store) {
      const nextDue = nextDueOf(store);
      expect(await nextDue(T0)).toBeNull();
      const tasks = await create(store, [
        { name: "root", dependencies: ["blocked"] },
        { name: "soon", parentId: "root", runAt: at(3000).toISOString() },
        { name: "later", parentId: "root", runAt: at(7000).toISOString() },
        { name: "now", parentId: "root" },
        // Waits for `later`: not due at any time yet.
        { name: "blocked", parentId: "root", dependencies: ["later"], runAt: at(1000).toISOString() },
      ]);
      const id = (name: string) => (tasks.get(name) as Task).id;
      // Not queued by an execution: nothing is due.
      expect(await nextDue(T0)).toBeNull();
      await start(store, id("root"));
      expect(await nextDue(T0)).toBe(at(3000).toISOString());
      // Strictly after `now`: a task due now is the claim's, not a wake-up's.
      expect(await nextDue(at(3000))).toBe(at(7000).toISOString());
      expect((await claimAll(store, at(3000))).map((c) => c.task.name).sort()).toEqual(["now", "soon"]);
      expect(await nextDue(at(3000))).toBe(at(7000).toISOString());
      await store.updateTask(id("later"), { runAt: at(5000).toISOString() }, at(3001));
      expect(await nextDue(at(3001))).toBe(at(5000).toISOString());
      await store.cancel(id("later"), { now: at(3002) });
      // `later` cancelled: `blocked` failed by the cascade, nothing waits for a time.
      expect(await nextDue(at(3002))).toBeNull();
    },
  },
  {
    name: "nextDueAt: a retry's backoff, and a claim or a cancel takes the task off",
    async run(store) {
      const nextDue = nextDueOf(store);
      const tasks = await create(store, [{ name: "flaky" }]);
      const id = (tasks.get("flaky") as Task).id;
      await start(store, id);
      const [first] = await claimAll(store);
      expect(await nextDue(at(1))).toBeNull();
      await store.finishTask(
        id,
        first?.leaseToken as string,
        { status: "failed", error: { code: "FLAKY", message: "again" }, retryAt: at(400) },
        at(2),
      );
      expect(await nextDue(at(2))).toBe(at(400).toISOString());
      const [second] = await claimAll(store, at(400));
      expect(second?.task.attempt).toBe(2);
      expect(await nextDue(at(401))).toBeNull();
      await store.finishTask(
        id,
        second?.leaseToken as string,
        { status: "failed", error: { code: "FLAKY", message: "again" }, retryAt: at(900) },
        at(402),
      );
      await store.cancel(id, { now: at(403) });
      expect(await nextDue(at(403))).toBeNull();
    },
  },
  {
    name: "nextDueAt: a root's runAt holds back its tree (a task is due at the later of its runAt and its root's)",
    async run(store) {
      const nextDue = nextDueOf(store);
      const tasks = await create(store, [
        { name: "root", runAt: at(5000).toISOString(), dependencies: ["child", "early", "late"] },
        { name: "child", parentId: "root" },
        { name: "early", parentId: "root", runAt: at(1000).toISOString() },
        { name: "late", parentId: "root", runAt: at(8000).toISOString() },
      ]);
      const id = (name: string) => (tasks.get(name) as Task).id;
      await start(store, id("root"));
      expect(await nextDue(T0)).toBe(at(5000).toISOString());
      expect(await nextDue(at(1000))).toBe(at(5000).toISOString());
      expect(await nextDue(at(5000))).toBe(at(8000).toISOString());
      // The root moved earlier: its tree is due then (`early` at its own 1000 ms, already past).
      await store.updateTask(id("root"), { runAt: at(2000).toISOString() }, at(1500));
      expect(await nextDue(at(1500))).toBe(at(2000).toISOString());
      await store.updateTask(id("root"), { runAt: null }, at(1600));
      expect(await nextDue(at(1600))).toBe(at(8000).toISOString());
    },
  },
]);
