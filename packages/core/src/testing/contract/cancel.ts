import { expect } from "vitest";
import type { TaskOutcome, TaskStore } from "../../store/types.js";
import type { ClaimedTask } from "../../store/types.js";
import type { Task } from "../../types.js";
import {
  at,
  claimAll,
  create,
  expectEvents,
  family,
  finishTasksOf,
  LEASE,
  names,
  OWNER,
  start,
  statuses,
  T0,
} from "./support.js";

const FLAKY = { code: "FLAKY", message: "flaky" };
const later = (ms: number): Date => at(ms);

type Via = "finishTask" | "finishTasks";

/** Finish through `finishTask` or a one-item `finishTasks`, which must accept the item. */
async function finish(
  store: TaskStore,
  via: Via,
  taskId: string,
  leaseToken: string,
  outcome: TaskOutcome,
): Promise<void> {
  if (via === "finishTask") {
    await store.finishTask(taskId, leaseToken, outcome, later(1));
    return;
  }
  const r = await finishTasksOf(store)([{ taskId, leaseToken, outcome }], later(1));
  expect(r.results[0]?.error).toBeNull();
}

/**
 * A cancel requested while a task runs wins over the failure or retry its executor reports: the
 * task ends cancelled (CANCELLED "cancelled"), is never claimed again, keeps its cancel flag and
 * is counted and cascaded like any cancellation.
 */
async function rootCancelBeatsOutcome(store: TaskStore, via: Via, outcome: TaskOutcome): Promise<void> {
  const tasks = await create(store, [
    { name: "root", dependencies: ["a"] },
    { name: "a", parentId: "root" },
  ]);
  const root = (tasks.get("root") as Task).id;
  const a = (tasks.get("a") as Task).id;
  const exec = await start(store, root);
  const [claimed] = await claimAll(store, T0, "n1");
  const cancel = await store.cancel(root, { now: T0 });
  expect(cancel.running).toEqual([{ taskId: a, leaseOwner: "n1" }]);
  await finish(store, via, a, claimed?.leaseToken as string, outcome);
  const task = await store.getTask(a);
  expect(task?.status).toBe("cancelled");
  expect(task?.error).toEqual({ code: "CANCELLED", message: "cancelled" });
  expect(await claimAll(store, later(60_000), "n1")).toEqual([]);
  const [execution] = await store.listExecutions({ rootId: root });
  expect(execution?.status).toBe("cancelled");
  expect((await store.getAttempts(a)).map((x) => x.status)).toEqual(["cancelled"]);
  const events = await store.readEvents({ rootId: root });
  const w = (ms: number) => later(ms).toISOString();
  expectEvents(
    events.filter((e) => e.taskId === a),
    [
      { type: "task.created", taskId: a, rootId: root, executionId: null, status: "pending", at: T0.toISOString() },
      {
        type: "task.started",
        taskId: a,
        rootId: root,
        executionId: exec.id,
        status: "in_progress",
        progress: 0,
        at: T0.toISOString(),
      },
      {
        type: "task.cancelled",
        taskId: a,
        rootId: root,
        executionId: exec.id,
        status: "cancelled",
        error: { code: "CANCELLED", message: "cancelled" },
        result: null,
        at: w(1),
      },
    ],
  );
  expect(events.filter((e) => e.type === "tree.finished")).toHaveLength(1);
  // A new execution queues the task afresh: its flag is cleared there, so a retry now re-queues.
  await store.startExecution({ taskId: root, now: later(2) });
  const rerun = await claimAll(store, later(2), "n1");
  expect(rerun.map((c) => c.task.id)).toEqual([a]);
  await finish(store, via, a, rerun[0]?.leaseToken as string, { status: "failed", error: FLAKY, retryAt: later(2) });
  expect((await store.getTask(a))?.status).toBe("pending");
}

async function taskCancelCascades(store: TaskStore, via: Via): Promise<void> {
  const tasks = await create(store, [
    { name: "root", dependencies: ["a", "b"] },
    { name: "a", parentId: "root" },
    { name: "b", parentId: "root", dependencies: ["a"] },
  ]);
  const id = (name: string) => (tasks.get(name) as Task).id;
  await start(store, id("root"));
  const claimed = await claimAll(store, T0, "n1");
  expect(names(claimed)).toEqual(["a"]);
  await store.cancel(id("a"), { now: T0 });
  // The flag survives: the owner learns of it when it renews the lease.
  const renew = await store.renewLeases(
    "n1",
    [{ taskId: id("a"), leaseToken: claimed[0]?.leaseToken as string }],
    LEASE,
    T0,
  );
  expect(renew.cancelRequested).toEqual([id("a")]);
  await finish(store, via, id("a"), claimed[0]?.leaseToken as string, { status: "failed", error: FLAKY, retryAt: T0 });
  expect((await store.getTask(id("a")))?.status).toBe("cancelled");
  const b = await store.getTask(id("b"));
  expect(b?.status).toBe("failed");
  expect(b?.error?.code).toBe("DEPENDENCY_FAILED");
  expect(b?.error?.details).toMatchObject({ dependencyId: id("a"), dependencyStatus: "cancelled" });
  expect((await store.getTask(id("root")))?.status).toBe("failed");
  // The task was cancelled by request: its execution ends cancelled (docs/semantics.md#failure-cancellation-and-completion).
  const [execution] = await store.listExecutions({ rootId: id("root") });
  expect(execution?.status).toBe("cancelled");
  expect(execution?.remaining).toBe(0);
}

export const cancelChecks = family("cancel", [
  {
    name: "cancel: a root cancels its tree; running tasks are flagged; idempotent",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["run", "wait"] },
        { name: "run", parentId: "root" },
        { name: "wait", parentId: "root", dependencies: ["run"] },
      ]);
      const rootId = (tasks.get("root") as Task).id;
      const exec = await start(store, rootId);
      const [running] = await claimAll(store);
      const result = await store.cancel(rootId, { reason: "user asked", now: at(1) });
      expect(result.cancelled.sort()).toEqual([rootId, (tasks.get("wait") as Task).id].sort());
      expect(result.running).toEqual([{ taskId: running?.task.id, leaseOwner: OWNER }]);
      expect(result.finished).toEqual([]);
      expect((await store.getTask(rootId))?.error).toEqual({ code: "CANCELLED", message: "user asked" });
      const renew = await store.renewLeases(
        OWNER,
        [{ taskId: running?.task.id as string, leaseToken: running?.leaseToken as string }],
        LEASE,
        at(2),
      );
      expect(renew.cancelRequested).toEqual([running?.task.id]);
      const out = await store.finishTask(
        running?.task.id as string,
        running?.leaseToken as string,
        { status: "cancelled", result: { partial: true } },
        at(3),
      );
      expect(out.task.result).toEqual({ partial: true });
      expect(out.finished.map((e) => [e.id, e.status])).toEqual([[exec.id, "cancelled"]]);
      const again = await store.cancel(rootId, { now: at(4) });
      expect(again.cancelled).toEqual([]);
      expect(again.events).toEqual([]);
    },
  },
  {
    name: "cancel of a pending inner task fails its required dependents; the execution ends cancelled",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["b"] },
        { name: "a", parentId: "root", runAt: at(60_000).toISOString() },
        { name: "b", parentId: "root", dependencies: ["a"] },
      ]);
      const rootId = (tasks.get("root") as Task).id;
      const exec = await start(store, rootId);
      const result = await store.cancel((tasks.get("a") as Task).id, { now: at(1) });
      expect(await statuses(store, rootId)).toEqual({ root: "failed", a: "cancelled", b: "failed" });
      // Cancelled by request, not failed (docs/semantics.md#failure-cancellation-and-completion), though the cascade failed its dependents.
      expect(result.finished.map((e) => [e.id, e.status])).toEqual([[exec.id, "cancelled"]]);
      const a = (tasks.get("a") as Task).id;
      const b = (tasks.get("b") as Task).id;
      const cascade = (dep: string, depName: string) => ({
        code: "DEPENDENCY_FAILED",
        message: `dependency ${depName} (${dep}) ${depName === "a" ? "cancelled" : "failed"}`,
        details: {
          dependencyId: dep,
          dependencyName: depName,
          dependencyStatus: depName === "a" ? "cancelled" : "failed",
        },
      });
      const w = at(1).toISOString();
      const of = (id: string) => ({ taskId: id, rootId, executionId: exec.id });
      expectEvents(result.events, [
        {
          type: "task.cancelled",
          ...of(a),
          status: "cancelled",
          error: { code: "CANCELLED", message: "cancelled by request" },
          at: w,
        },
        { type: "task.failed", ...of(b), status: "failed", error: cascade(a, "a"), at: w },
        { type: "task.failed", ...of(rootId), status: "failed", error: cascade(b, "b"), at: w },
        { type: "tree.finished", ...of(rootId), status: "cancelled", at: w },
      ]);
      expect(result.cancelled).toEqual([a, b, rootId]);
    },
  },
  {
    name: "cancelling one running inner task by request ends its execution cancelled, not failed",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["a", "b"] },
        { name: "a", parentId: "root" },
        { name: "b", parentId: "root" },
      ]);
      const id = (name: string) => (tasks.get(name) as Task).id;
      const exec = await start(store, id("root"));
      const claimed = await claimAll(store);
      const token = (name: string) => (claimed.find((c) => c.task.name === name) as ClaimedTask).leaseToken;
      const request = await store.cancel(id("a"), { reason: "not needed", now: at(1) });
      expect(request.running).toEqual([{ taskId: id("a"), leaseOwner: OWNER }]);
      expect(request.cancelled).toEqual([]);
      expect(request.events).toEqual([]);
      // The owner aborts it; its executor reports a partial result. b completes meanwhile.
      await store.finishTask(id("b"), token("b"), { status: "completed", result: 1 }, at(2));
      const out = await store.finishTask(
        id("a"),
        token("a"),
        { status: "cancelled", result: { partial: true } },
        at(3),
      );
      expect(out.finished.map((e) => [e.id, e.status])).toEqual([[exec.id, "cancelled"]]);
      expect(await statuses(store, id("root"))).toEqual({ root: "failed", a: "cancelled", b: "completed" });
      expect((await store.getExecution(exec.id))?.status).toBe("cancelled");
      // A cancel of a task that already ended marks nothing: the next execution ends as it runs.
      await start(store, id("root"), at(4));
      await store.cancel(id("b"), { now: at(5) });
      const rerun = await claimAll(store, at(6));
      expect(names(rerun)).toEqual(["a"]);
      await store.finishTask(id("a"), (rerun[0] as ClaimedTask).leaseToken, { status: "completed", result: 2 }, at(7));
      const [root] = await claimAll(store, at(8));
      const last = await store.finishTask(
        id("root"),
        (root as ClaimedTask).leaseToken,
        { status: "completed", result: 3 },
        at(9),
      );
      expect(last.finished.map((e) => e.status)).toEqual(["completed"]);
    },
  },
  {
    name: "contract: cancel wins over failure and retry of a running task",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["a", "b"] },
        { name: "a", parentId: "root" },
        { name: "b", parentId: "root" },
      ]);
      const rootId = (tasks.get("root") as Task).id;
      const exec = await start(store, rootId);
      const claimed = await claimAll(store);
      const c = (name: string) => claimed.find((x) => x.task.name === name) as ClaimedTask;
      await store.cancel(rootId, { now: at(1) });
      await store.finishTask(
        c("a").task.id,
        c("a").leaseToken,
        { status: "failed", error: { code: "FLAKY", message: "x" }, retryAt: at(2) },
        at(2),
      );
      const out = await store.finishTask(
        c("b").task.id,
        c("b").leaseToken,
        { status: "failed", error: { code: "BOOM", message: "y" } },
        at(3),
      );
      expect(await statuses(store, rootId)).toEqual({ root: "cancelled", a: "cancelled", b: "cancelled" });
      expect(await claimAll(store, at(10_000))).toEqual([]);
      expect(out.finished.map((e) => [e.id, e.status])).toEqual([[exec.id, "cancelled"]]);
    },
  },
  ...(["finishTask", "finishTasks"] as const).flatMap((via) => [
    {
      name: `${via}: a retry outcome of a task whose tree was cancelled ends it cancelled, not re-queued`,
      run: (store: TaskStore) => rootCancelBeatsOutcome(store, via, { status: "failed", error: FLAKY, retryAt: T0 }),
    },
    {
      name: `${via}: a failed outcome of a task whose tree was cancelled ends it cancelled`,
      run: (store: TaskStore) => rootCancelBeatsOutcome(store, via, { status: "failed", error: FLAKY }),
    },
    {
      name: `${via}: a cancelled task's retry cascades as a cancellation to its required dependents`,
      run: (store: TaskStore) => taskCancelCascades(store, via),
    },
  ]),
]);
