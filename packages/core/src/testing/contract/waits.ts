import { expect } from "vitest";
import { ErrorCode } from "../../errors.js";
import type { TaskStore } from "../../store/types.js";
import type { Task, WaitSpec } from "../../types.js";
import { at, claimAll, create, expectCode, family, LEASE, start, statuses, T0 } from "./support.js";

/** Claim the named task and finish it as waiting with `spec`. */
async function waitOn(store: TaskStore, spec: WaitSpec, now = T0): Promise<{ id: string; leaseToken: string }> {
  const [claimed] = await claimAll(store, now);
  if (!claimed) throw new Error("nothing to claim");
  await store.finishTask(claimed.task.id, claimed.leaseToken, { status: "waiting", wait: spec }, now);
  return { id: claimed.task.id, leaseToken: claimed.leaseToken };
}

const answer = (by: string | null, input: unknown, ms = 1000) => ({
  by,
  at: at(ms).toISOString(),
  input: input as never,
});

export const waitChecks = family("waits", [
  {
    name: "waits: finishing as waiting releases the lease, stores the wait, keeps the tree unfinished",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["ask"] },
        { name: "ask", parentId: "root" },
      ]);
      const root = tasks.get("root") as Task;
      const exec = await start(store, root.id);
      const { id, leaseToken } = await waitOn(store, { prompt: "ok?", schema: { type: "object" }, timeoutMs: 5000 });
      const task = (await store.getTask(id)) as Task;
      expect(task.status).toBe("waiting");
      expect(task.wait).toEqual({
        prompt: "ok?",
        schema: { type: "object" },
        since: T0.toISOString(),
        deadline: at(5000).toISOString(),
        answers: [],
      });
      expect(task.completedAt).toBeNull();
      const renewed = await store.renewLeases("node-a", [{ taskId: id, leaseToken }], LEASE, at(1));
      expect(renewed.lost).toEqual([id]);
      expect((await store.reclaimExpired(at(LEASE * 10))).tasks).toEqual([]);
      expect(await claimAll(store, at(2))).toEqual([]);
      expect((await store.getExecution(exec.id))?.status).toBe("running");
      expect(await statuses(store, root.id)).toEqual({ root: "pending", ask: "waiting" });
      const events = await store.readEvents({ taskId: id });
      expect(events.at(-1)).toMatchObject({
        type: "task.waiting",
        status: "waiting",
        data: { prompt: "ok?", schema: { type: "object" }, deadline: at(5000).toISOString(), answers: 0, required: 1 },
      });
      const attempts = await store.getAttempts(id);
      expect(attempts.map((a) => [a.attempt, a.status])).toEqual([[1, "waiting"]]);
      expect((await store.countByStatus({ rootId: root.id })).waiting).toBe(1);
      expect((await store.listTasks({ status: "waiting" })).tasks.map((t) => t.id)).toEqual([id]);
      await expectCode(store.deleteTask(id), ErrorCode.CannotDelete);
    },
  },
  {
    name: "waits: the first answer wins (compare-and-set), the task is claimed again with the answer",
    async run(store) {
      const tasks = await create(store, [{ name: "ask" }]);
      await start(store, (tasks.get("ask") as Task).id);
      const { id } = await waitOn(store, { prompt: "p" });
      const first = await store.resumeTask(id, answer("ann", { pick: 1 }), at(1000));
      expect(first.resumed).toBe(true);
      expect(first.task.status).toBe("pending");
      expect(first.events.map((e) => [e.type, e.status, e.data])).toEqual([
        ["task.resumed", "pending", { by: "ann", input: { pick: 1 } }],
      ]);
      await expectCode(store.resumeTask(id, answer("bob", { pick: 2 }), at(1001)), ErrorCode.InvalidTransition);
      const [again] = await claimAll(store, at(1002));
      expect(again?.task.id).toBe(id);
      expect(again?.task.attempt).toBe(2);
      expect(again?.task.wait).toMatchObject({
        answers: [{ by: "ann", at: at(1000).toISOString(), input: { pick: 1 } }],
        resumedAt: at(1000).toISOString(),
      });
      await expectCode(store.resumeTask(id, answer(null, 1), at(1003)), ErrorCode.InvalidTransition);
      await expectCode(store.resumeTask("missing", answer(null, 1), at(1003)), ErrorCode.TaskNotFound);
    },
  },
  {
    name: "waits: N answers needed, each recorded; the same user twice refused; a rejection ends it at once",
    async run(store) {
      const tasks = await create(store, [
        { name: "root" },
        { name: "a", parentId: "root" },
        { name: "b", parentId: "root" },
      ]);
      await start(store, (tasks.get("root") as Task).id);
      const [ca, cb] = (await claimAll(store)).filter((c) => c.task.name !== "root");
      for (const c of [ca, cb]) {
        await store.finishTask(
          c?.task.id as string,
          c?.leaseToken as string,
          { status: "waiting", wait: { prompt: "p", required: 2 } },
          T0,
        );
      }
      const a = ca?.task.id as string;
      const partial = await store.resumeTask(a, answer("u1", { approved: true }), at(1));
      expect(partial.resumed).toBe(false);
      expect(partial.task.status).toBe("waiting");
      expect(partial.events.map((e) => [e.type, e.data?.answers])).toEqual([["task.waiting", 1]]);
      await expectCode(store.resumeTask(a, answer("u1", { approved: true }), at(2)), ErrorCode.InvalidTransition);
      expect((await store.resumeTask(a, answer("u2", { approved: true }), at(3))).resumed).toBe(true);
      expect((await store.getTask(a))?.wait?.answers.map((x) => x.by)).toEqual(["u1", "u2"]);
      const b = cb?.task.id as string;
      expect((await store.resumeTask(b, answer("u1", { approved: false }), at(4))).resumed).toBe(true);
    },
  },
  {
    name: "waits: the deadline applies onTimeout exactly once; fail cascades and finishes the execution",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["ask"] },
        { name: "ask", parentId: "root" },
        { name: "other", parentId: "root" },
      ]);
      const root = tasks.get("root") as Task;
      const exec = await start(store, root.id);
      const claimed = await claimAll(store);
      for (const c of claimed) {
        const spec: WaitSpec =
          c.task.name === "ask"
            ? { prompt: "p", timeoutMs: 100 }
            : { prompt: "q", timeoutMs: 200, onTimeout: "resume" };
        await store.finishTask(c.task.id, c.leaseToken, { status: "waiting", wait: spec }, T0);
      }
      expect((await store.expireWaits(at(99))).tasks).toEqual([]);
      const first = await store.expireWaits(at(100));
      expect(first.tasks.map((t) => [t.name, t.status])).toEqual([["ask", "failed"]]);
      expect((await store.expireWaits(at(150))).tasks).toEqual([]);
      expect((await store.getTask((tasks.get("ask") as Task).id))?.error?.code).toBe("WAIT_TIMEOUT");
      expect(await statuses(store, root.id)).toEqual({ root: "failed", ask: "failed", other: "waiting" });
      expect(first.events.map((e) => [e.type, e.taskId])).toEqual([
        ["task.failed", (tasks.get("ask") as Task).id],
        ["task.failed", root.id],
      ]);
      const second = await store.expireWaits(at(250));
      expect(second.tasks.map((t) => [t.name, t.status])).toEqual([["other", "pending"]]);
      expect(second.tasks[0]?.wait).toMatchObject({ timedOut: true, resumedAt: at(250).toISOString() });
      expect(second.events.map((e) => [e.type, e.data])).toEqual([
        ["task.resumed", { by: null, input: null, timedOut: true }],
      ]);
      const [rerun] = await claimAll(store, at(251));
      await store.finishTask(
        rerun?.task.id as string,
        rerun?.leaseToken as string,
        { status: "completed", result: 1 },
        at(252),
      );
      expect((await store.getExecution(exec.id))?.status).toBe("failed");
    },
  },
  {
    name: "waits: findWaiting by event and key (and user); cancelling a waiting task finishes its tree",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", userId: "u" },
        { name: "k1", parentId: "root", userId: "u" },
        { name: "k2", parentId: "root", userId: "u" },
        { name: "plain", parentId: "root", userId: "u" },
      ]);
      const root = tasks.get("root") as Task;
      const exec = await start(store, root.id);
      for (const c of await claimAll(store)) {
        const spec: WaitSpec =
          c.task.name === "k1"
            ? { prompt: "p", event: "ticket", key: "T-1" }
            : c.task.name === "k2"
              ? { prompt: "p", event: "ticket", key: "T-2" }
              : c.task.name === "plain"
                ? { prompt: "p", event: "ticket" }
                : { prompt: "root" };
        await store.finishTask(c.task.id, c.leaseToken, { status: "waiting", wait: spec }, T0);
      }
      const found = async (key: string | null, userId?: string | null) =>
        (await store.findWaiting({ event: "ticket", key, ...(userId !== undefined ? { userId } : {}) })).map(
          (t) => t.name,
        );
      expect(await found("T-1")).toEqual(["k1"]);
      expect(await found(null)).toEqual(["plain"]);
      expect(await found("T-1", "u")).toEqual(["k1"]);
      expect(await found("T-1", "someone")).toEqual([]);
      expect(await store.findWaiting({ event: "other" })).toEqual([]);
      const cancelled = await store.cancel(root.id, { now: at(5) });
      expect(cancelled.cancelled.length).toBe(4);
      expect(cancelled.finished.map((e) => e.id)).toEqual([exec.id]);
      expect(await found("T-1")).toEqual([]);
      await expectCode(
        store.resumeTask((tasks.get("k1") as Task).id, answer(null, 1), at(6)),
        ErrorCode.InvalidTransition,
      );
      // A re-run starts without the old wait.
      await start(store, root.id, at(7));
      expect((await store.getTask((tasks.get("k1") as Task).id))?.wait).toBeNull();
    },
  },
  {
    name: "waits: a cancel requested while the task ran wins over its wait",
    async run(store) {
      const tasks = await create(store, [{ name: "ask" }]);
      const id = (tasks.get("ask") as Task).id;
      await start(store, id);
      const [c] = await claimAll(store);
      await store.cancel(id, { now: at(1) });
      const out = await store.finishTask(
        id,
        c?.leaseToken as string,
        { status: "waiting", wait: { prompt: "p" } },
        at(2),
      );
      expect(out.task.status).toBe("cancelled");
      expect(out.finished).toHaveLength(1);
    },
  },
]);
