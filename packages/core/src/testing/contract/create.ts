import { expect } from "vitest";
import { ErrorCode } from "../../errors.js";
import { validateTasks } from "../../tree/validate.js";
import type { NewTask, Task } from "../../types.js";
import type { ClaimedTask } from "../../store/types.js";
import { at, claimAll, create, diamond, expectCode, expectEvents, family, LEASE, OWNER, start, T0 } from "./support.js";

export const createChecks = family("create", [
  {
    name: "createTasks stores a tree atomically and maintains hasChildren",
    async run(store) {
      const tasks = await create(store, diamond);
      const root = tasks.get("root") as Task;
      expect(root.hasChildren).toBe(true);
      expect((tasks.get("leaf") as Task).hasChildren).toBe(false);
      const tree = await store.getTree(root.id);
      expect(tree.map((t) => t.name)).toEqual(["root", "left", "right", "leaf"]);
      expect(tree.every((t) => t.rootId === root.id && t.status === "pending")).toBe(true);
      const left = await store.getTask((tasks.get("left") as Task).id);
      expect(left?.dependencies).toEqual([{ id: (tasks.get("leaf") as Task).id, required: true }]);
      expect(await store.getTask("no-such-task")).toBeNull();
    },
  },
  {
    name: "createTasks refuses an existing id and writes nothing",
    async run(store) {
      const tasks = await create(store, [{ id: "t-1", name: "one" }]);
      const [tree] = validateTasks(
        [
          { id: "t-2", name: "two" },
          { id: "t-1", name: "dup", parentId: "t-2" },
        ],
        { now: T0 },
      );
      await expectCode(store.createTasks(tree as NewTask[], T0), ErrorCode.InvalidTask);
      expect(await store.getTask("t-2")).toBeNull();
      expect((await store.getTask("t-1"))?.name).toBe((tasks.get("one") as Task).name);
    },
  },
  {
    name: "createTasks writes one task.created per task, exactly",
    async run(store) {
      const [tree] = validateTasks(
        [
          { id: "r", name: "r" },
          { id: "k", name: "k", parentId: "r" },
        ],
        { now: T0 },
      );
      const out = await store.createTasks(tree as NewTask[], at(7));
      expectEvents(out.events, [
        {
          type: "task.created",
          taskId: "r",
          rootId: "r",
          executionId: null,
          status: "pending",
          at: at(7).toISOString(),
        },
        {
          type: "task.created",
          taskId: "k",
          rootId: "r",
          executionId: null,
          status: "pending",
          at: at(7).toISOString(),
        },
      ]);
      const [lone] = validateTasks([{ id: "x", name: "x" }], { now: T0 });
      const orphan = { ...((lone as NewTask[])[0] as NewTask), dependencies: [{ id: "ghost", required: true }] };
      await expectCode(store.createTasks([orphan], T0), ErrorCode.InvalidDependency);
      expect(await store.getTask("x")).toBeNull();
    },
  },
  {
    name: "every operation that depends on time refuses a call without now (stores have no clock)",
    async run(store) {
      const tasks = await create(store, [{ name: "solo" }]);
      const id = (tasks.get("solo") as Task).id;
      const missing = undefined as unknown as Date;
      const [tree] = validateTasks([{ id: "later", name: "later" }], { now: T0 });
      await expectCode(store.createTasks(tree as NewTask[], missing), ErrorCode.InvalidParams);
      await expectCode(store.startExecution({ taskId: id, now: missing }), ErrorCode.InvalidParams);
      await expectCode(store.updateTask(id, { name: "x" }, missing), ErrorCode.InvalidParams);
      await expectCode(store.cancel(id, { now: missing }), ErrorCode.InvalidParams);
      await expectCode(store.reclaimExpired(missing), ErrorCode.InvalidParams);
      if (store.nextDueAt) await expectCode(store.nextDueAt({ now: missing }), ErrorCode.InvalidParams);
      await expectCode(
        store.claimReady({ owner: OWNER, limit: 1, leaseMs: LEASE, now: missing }),
        ErrorCode.InvalidParams,
      );
      await expectCode(store.startExecution({ taskId: id, now: new Date(Number.NaN) }), ErrorCode.InvalidParams);
      await start(store, id);
      const [c] = await claimAll(store);
      const token = (c as ClaimedTask).leaseToken;
      await expectCode(
        store.renewLeases(OWNER, [{ taskId: id, leaseToken: token }], LEASE, missing),
        ErrorCode.InvalidParams,
      );
      await expectCode(store.reportProgress(id, token, 0.5, undefined, missing), ErrorCode.InvalidParams);
      await expectCode(
        store.finishTask(id, token, { status: "completed", result: null }, missing),
        ErrorCode.InvalidParams,
      );
      // Nothing of the refused calls was written.
      expect(await store.getTask("later")).toBeNull();
      const task = await store.getTask(id);
      expect(task).toMatchObject({ name: "solo", status: "in_progress", progress: 0 });
    },
  },
]);
