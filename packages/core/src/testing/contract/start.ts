import { expect } from "vitest";
import { ErrorCode } from "../../errors.js";
import type { ClaimedTask } from "../../store/types.js";
import type { Task } from "../../types.js";
import {
  at,
  claimAll,
  completeAll,
  create,
  expectCode,
  expectEvents,
  family,
  names,
  start,
  statuses,
  T0,
} from "./support.js";

export const startChecks = family("start", [
  {
    name: "an execution finishes exactly once with tree.finished, and a second one is refused while it runs",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["a"] },
        { name: "a", parentId: "root" },
      ]);
      const rootId = (tasks.get("root") as Task).id;
      const exec = await start(store, rootId);
      expect(exec.status).toBe("running");
      expect(exec.total).toBe(2);
      await expectCode(store.startExecution({ taskId: rootId, now: T0 }), ErrorCode.AlreadyExecuting);
      await completeAll(store, await claimAll(store));
      const [root] = await claimAll(store);
      const out = await store.finishTask(
        rootId,
        root?.leaseToken as string,
        { status: "completed", result: "ok" },
        at(5),
      );
      expect(out.finished).toHaveLength(1);
      expect(out.finished[0]).toMatchObject({
        id: exec.id,
        status: "completed",
        remaining: 0,
        finishedAt: at(5).toISOString(),
      });
      expect((await store.getExecution(exec.id))?.status).toBe("completed");
      const finals = (await store.readEvents({ rootId })).filter((e) => e.type === "tree.finished");
      expect(finals).toHaveLength(1);
      expect(finals[0]).toMatchObject({ executionId: exec.id, status: "completed" });
      const again = await start(store, rootId);
      expect(again.status).toBe("completed");
      expect(again.total).toBe(0);
    },
  },
  {
    name: "re-execution re-runs failed tasks and their dependents and keeps completed results",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["good", "bad"] },
        { name: "good", parentId: "root" },
        { name: "bad", parentId: "root" },
      ]);
      const rootId = (tasks.get("root") as Task).id;
      await start(store, rootId);
      for (const c of await claimAll(store)) {
        const outcome =
          c.task.name === "good"
            ? ({ status: "completed", result: { v: 1 } } as const)
            : ({ status: "failed", error: { code: "X", message: "x" } } as const);
        await store.finishTask(c.task.id, c.leaseToken, outcome, T0);
      }
      expect(await statuses(store, rootId)).toEqual({ root: "failed", good: "completed", bad: "failed" });
      const rerun = await start(store, rootId, at(10));
      expect(rerun.total).toBe(2);
      expect(await statuses(store, rootId)).toEqual({ root: "pending", good: "completed", bad: "pending" });
      const bad = await store.getTask((tasks.get("bad") as Task).id);
      expect(bad?.error).toBeNull();
      expect(bad?.completedAt).toBeNull();
      const claimed = await claimAll(store, at(10));
      expect(names(claimed)).toEqual(["bad"]);
      expect(claimed[0]?.task.attempt).toBe(2);
      await completeAll(store, claimed, at(10));
      const [root] = await claimAll(store, at(10));
      expect(root?.dependencies.find((d) => d.name === "good")?.result).toEqual({ v: 1 });
      await completeAll(store, [root as ClaimedTask], at(10));
      const all = await start(store, rootId, at(20), "all");
      expect(all.total).toBe(3);
      expect((await store.getTask((tasks.get("good") as Task).id))?.result).toBeNull();
    },
  },
  {
    name: "executing a task inside a tree runs it and what it needs that is not completed",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["b"] },
        { name: "a", parentId: "root" },
        { name: "b", parentId: "root", dependencies: ["a"] },
        { name: "other", parentId: "root" },
      ]);
      const exec = await start(store, (tasks.get("b") as Task).id);
      expect(exec.total).toBe(2);
      expect(names(await claimAll(store))).toEqual(["a"]);
    },
  },
  {
    name: "re-execution starts fresh: no checkpoint and no retry backoff of the previous run",
    async run(store) {
      const tasks = await create(store, [{ name: "solo" }]);
      const id = (tasks.get("solo") as Task).id;
      await start(store, id);
      const [c] = await claimAll(store);
      await store.saveCheckpoint(id, c?.leaseToken as string, { page: 9 });
      await store.finishTask(
        id,
        c?.leaseToken as string,
        { status: "failed", error: { code: "FLAKY", message: "x" }, retryAt: at(3_600_000) },
        at(1),
      );
      expect((await store.getTask(id))?.runAt).toBe(at(3_600_000).toISOString());
      await store.cancel(id, { now: at(2) });
      await start(store, id, at(3));
      expect((await store.getTask(id))?.runAt).toBeNull();
      const [again] = await claimAll(store, at(4));
      expect(again?.task.name).toBe("solo");
      expect(again?.lastCheckpoint).toBeNull();
    },
  },
  {
    name: "re-execution clears the checkpoint and restores the user's runAt over a retry's backoff",
    async run(store) {
      const HOUR = 3_600_000;
      const tasks = await create(store, [{ name: "solo", runAt: at(10_000).toISOString() }]);
      const id = (tasks.get("solo") as Task).id;
      await start(store, id);
      expect(await claimAll(store, at(9_999))).toEqual([]);
      const [c] = await claimAll(store, at(10_000));
      if (!c) throw new Error("not claimed");
      await store.saveCheckpoint(id, c.leaseToken, { page: 9 });
      await store.finishTask(
        id,
        c.leaseToken,
        { status: "failed", error: { code: "F", message: "x" }, retryAt: at(HOUR) },
        at(10_001),
      );
      expect((await store.getTask(id))?.runAt).toBe(at(HOUR).toISOString());
      // The retry is still waiting: cancel it and run again. The user's runAt is back, not the backoff.
      await store.cancel(id, { now: at(10_002) });
      await start(store, id, at(10_003));
      expect((await store.getTask(id))?.runAt).toBe(at(10_000).toISOString());
      const [again] = await claimAll(store, at(10_004));
      expect(again?.task.id).toBe(id);
      expect(again?.lastCheckpoint).toBeNull();
      expect(again?.task.attempt).toBe(2);
      await store.finishTask(id, again?.leaseToken as string, { status: "completed", result: null }, at(10_005));
      // A runAt the user sets later is the one a re-run restores.
      await store.updateTask(id, { runAt: at(2 * HOUR).toISOString() }, at(10_006));
      await start(store, id, at(10_007), "all");
      expect((await store.getTask(id))?.runAt).toBe(at(2 * HOUR).toISOString());
      expect(await claimAll(store, at(HOUR))).toEqual([]);
    },
  },
  {
    name: "startExecution writes tree.started (and tree.finished at once for an empty run set)",
    async run(store) {
      const tasks = await create(store, [{ name: "solo" }]);
      const id = (tasks.get("solo") as Task).id;
      const started = await store.startExecution({ taskId: id, executionId: "exec-1", now: at(1) });
      expectEvents(started.events, [
        {
          type: "tree.started",
          taskId: id,
          rootId: id,
          executionId: "exec-1",
          status: "in_progress",
          at: at(1).toISOString(),
        },
      ]);
      expect(started.execution).toEqual({
        id: "exec-1",
        rootId: id,
        taskId: id,
        status: "running",
        cancelRequested: false,
        remaining: 1,
        total: 1,
        demo: false,
        userId: null,
        createdAt: at(1).toISOString(),
        finishedAt: null,
      });
      await expectCode(store.startExecution({ taskId: "missing", now: at(1) }), ErrorCode.TaskNotFound);
      const [c] = await claimAll(store, at(2));
      await store.finishTask(id, c?.leaseToken as string, { status: "completed", result: 1 }, at(3));
      await expectCode(
        store.startExecution({ taskId: id, executionId: "exec-1", now: at(4) }),
        ErrorCode.InvalidParams,
      );
      const empty = await store.startExecution({ taskId: id, executionId: "exec-2", now: at(5) });
      expect(empty.execution).toMatchObject({
        status: "completed",
        total: 0,
        remaining: 0,
        finishedAt: at(5).toISOString(),
      });
      expectEvents(empty.events, [
        {
          type: "tree.started",
          taskId: id,
          rootId: id,
          executionId: "exec-2",
          status: "in_progress",
          at: at(5).toISOString(),
        },
        {
          type: "tree.finished",
          taskId: id,
          rootId: id,
          executionId: "exec-2",
          status: "completed",
          at: at(5).toISOString(),
        },
      ]);
    },
  },
]);
