import { expect } from "vitest";
import type { Task } from "../../types.js";
import { create, family } from "./support.js";

export const queryChecks = family("queries", [
  {
    name: "queries: children, list with filters and paging, counts",
    async run(store) {
      const a = await create(store, [
        { name: "ra", userId: "u1" },
        { name: "a1", parentId: "ra", userId: "u1" },
        { name: "a2", parentId: "ra", userId: "u1" },
      ]);
      await create(store, [{ name: "rb", userId: "u2" }]);
      const ra = a.get("ra") as Task;
      expect((await store.getChildren(ra.id)).map((t) => t.name)).toEqual(["a1", "a2"]);
      const page = await store.listTasks({ userId: "u1", limit: 2, offset: 1 });
      expect(page.total).toBe(3);
      expect(page.tasks.map((t) => t.name)).toEqual(["a1", "a2"]);
      const roots = await store.listTasks({ rootsOnly: true });
      expect(roots.tasks.map((t) => t.name).sort()).toEqual(["ra", "rb"]);
      const newest = await store.listTasks({ rootsOnly: true, order: "-createdAt", limit: 1 });
      expect(newest.tasks[0]?.name).toBe("rb");
      const counts = await store.countByStatus({ userId: "u1" });
      expect(counts).toEqual({ pending: 3, in_progress: 0, waiting: 0, completed: 0, failed: 0, cancelled: 0 });
      expect((await store.listTasks({ status: ["completed"] })).total).toBe(0);
      expect((await store.listTasks({ rootId: ra.id, parentId: ra.id })).total).toBe(2);
    },
  },
  {
    name: "returned tasks are copies: mutating them does not change the store",
    async run(store) {
      const tasks = await create(store, [{ name: "solo", inputs: { nested: { v: 1 } } }]);
      const t = tasks.get("solo") as Task;
      (t.inputs.nested as { v: number }).v = 99;
      const fresh = await store.getTask(t.id);
      (fresh?.inputs.nested as { v: number }).v = 100;
      expect((await store.getTask(t.id))?.inputs).toEqual({ nested: { v: 1 } });
    },
  },
]);
