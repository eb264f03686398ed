import { expect } from "vitest";
import { ErrorCode } from "../../errors.js";
import type { Task } from "../../types.js";
import { at, claimAll, create, expectCode, family, LEASE, names, OWNER, start, T0 } from "./support.js";

export const updateDeleteChecks = family("update-delete", [
  {
    name: "update: refused while running, validated, priority reorders the queue",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["a", "b"] },
        { name: "a", parentId: "root" },
        { name: "b", parentId: "root" },
      ]);
      const b = tasks.get("b") as Task;
      const updated = await store.updateTask(b.id, { priority: 0, inputs: { x: 1 }, name: "b2" }, at(1));
      expect(updated).toMatchObject({ priority: 0, inputs: { x: 1 }, name: "b2", updatedAt: at(1).toISOString() });
      await expectCode(store.updateTask(b.id, { priority: 9 }, at(2)), ErrorCode.InvalidParams);
      await expectCode(store.updateTask("missing", { name: "x" }, at(2)), ErrorCode.TaskNotFound);
      await start(store, (tasks.get("root") as Task).id);
      const [first] = (await store.claimReady({ owner: OWNER, limit: 1, leaseMs: LEASE, now: T0 })).claimed;
      expect(first?.task.name).toBe("b2");
      await expectCode(store.updateTask(b.id, { name: "again" }, at(3)), ErrorCode.InvalidTransition);
    },
  },
  {
    name: "delete: a subtree goes; refused while running or depended upon from outside",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["b"] },
        { name: "a", parentId: "root" },
        { name: "a1", parentId: "a" },
        { name: "b", parentId: "root", dependencies: ["a1"] },
        { name: "c", parentId: "root" },
      ]);
      await expectCode(store.deleteTask((tasks.get("a") as Task).id), ErrorCode.CannotDelete);
      const out = await store.deleteTask((tasks.get("c") as Task).id);
      expect(out.deleted).toEqual([(tasks.get("c") as Task).id]);
      expect(await store.getTask((tasks.get("c") as Task).id)).toBeNull();
      const rootId = (tasks.get("root") as Task).id;
      await start(store, rootId);
      await claimAll(store);
      await expectCode(store.deleteTask(rootId), ErrorCode.CannotDelete);
      const other = await create(store, [{ name: "r2" }, { name: "k", parentId: "r2" }]);
      const gone = await store.deleteTask((other.get("r2") as Task).id);
      expect(gone.deleted.sort()).toEqual([(other.get("r2") as Task).id, (other.get("k") as Task).id].sort());
      expect(await store.getTree((other.get("r2") as Task).id)).toEqual([]);
    },
  },
  {
    name: "changing runAt re-orders the queue",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["soon", "later"] },
        { name: "soon", parentId: "root", runAt: at(3_600_000).toISOString() },
        { name: "later", parentId: "root", runAt: at(7_200_000).toISOString() },
      ]);
      await start(store, (tasks.get("root") as Task).id);
      expect(await claimAll(store, at(1))).toEqual([]);
      await store.updateTask((tasks.get("later") as Task).id, { runAt: null }, at(2));
      expect(names(await claimAll(store, at(3)))).toEqual(["later"]);
    },
  },
]);
