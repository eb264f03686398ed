import { expect } from "vitest";
import type { ClaimedTask } from "../../store/types.js";
import type { Task } from "../../types.js";
import { claimAll, completeAll, create, family, LEASE, names, OWNER, start, T0 } from "./support.js";

export const claimChecks = family("claim", [
  {
    name: "tasks of a tree that is not executing are never claimed",
    async run(store) {
      await create(store, [{ name: "idle" }]);
      expect(await claimAll(store)).toEqual([]);
    },
  },
  {
    name: "claim order: dependencies first, then priority (0 first), then FIFO",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", priority: 3, dependencies: ["p2a", "p0", "p2b", "p1"] },
        { name: "p2a", parentId: "root", priority: 2 },
        { name: "p0", parentId: "root", priority: 0 },
        { name: "p2b", parentId: "root" },
        { name: "p1", parentId: "root", priority: 1 },
      ]);
      await start(store, (tasks.get("root") as Task).id);
      const first = await store.claimReady({ owner: OWNER, limit: 2, leaseMs: LEASE, now: T0 });
      expect(names(first.claimed)).toEqual(["p0", "p1"]);
      const rest = await claimAll(store);
      expect(names(rest)).toEqual(["p2a", "p2b"]);
      expect(first.claimed[0]?.task.status).toBe("in_progress");
      expect(first.claimed[0]?.task.attempt).toBe(1);
      expect(first.claimed[0]?.task.startedAt).toBe(T0.toISOString());
      await completeAll(store, [...first.claimed, ...rest]);
      expect(names(await claimAll(store))).toEqual(["root"]);
    },
  },
  {
    name: "claims hand each task to one owner only, with its dependency results",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["a", { id: "b", required: false }] },
        { name: "a", parentId: "root" },
        { name: "b", parentId: "root" },
      ]);
      await start(store, (tasks.get("root") as Task).id);
      const one = await claimAll(store, T0, "node-a");
      const two = await claimAll(store, T0, "node-b");
      expect(names(one).sort()).toEqual(["a", "b"]);
      expect(two).toEqual([]);
      await store.finishTask(
        (tasks.get("a") as Task).id,
        (one.find((c) => c.task.name === "a") as ClaimedTask).leaseToken,
        {
          status: "completed",
          result: null,
        },
        T0,
      );
      expect(await claimAll(store)).toEqual([]);
      await store.finishTask(
        (tasks.get("b") as Task).id,
        (one.find((c) => c.task.name === "b") as ClaimedTask).leaseToken,
        {
          status: "completed",
          result: { value: 42 },
        },
        T0,
      );
      const [root] = await claimAll(store, T0, "node-b");
      expect(root?.task.name).toBe("root");
      const deps = [...(root?.dependencies ?? [])].sort((x, y) => x.name.localeCompare(y.name));
      expect(deps).toEqual([
        { id: (tasks.get("a") as Task).id, name: "a", status: "completed", required: true, result: null },
        { id: (tasks.get("b") as Task).id, name: "b", status: "completed", required: false, result: { value: 42 } },
      ]);
    },
  },
]);
