import { expect } from "vitest";
import { ApflowError, ErrorCode, LeaseLostError } from "../errors.js";
import { validateTasks } from "../tree/validate.js";
import type { NewTask, Task, TaskInput, TaskStatus } from "../types.js";
import type { ClaimedTask, TaskStore } from "./types.js";

/**
 * The store contract: what every `TaskStore` must do, as plain checks. `describeStoreContract`
 * (in `@aipartnerupflow/core/testing`) runs each as a test; a store that passes them can run
 * the engine. Checks take a fresh, empty store.
 */
export interface StoreCheck {
  name: string;
  run(store: TaskStore): Promise<void>;
}

const T0 = new Date("2030-01-01T00:00:00.000Z");
const at = (ms: number): Date => new Date(T0.getTime() + ms);
const OWNER = "node-a";
const LEASE = 10_000;

async function create(store: TaskStore, tasks: TaskInput[], now = T0): Promise<Map<string, Task>> {
  const [tree] = validateTasks(tasks, { now });
  const { tasks: created } = await store.createTasks(tree as NewTask[], now);
  return new Map(created.map((t) => [t.name, t]));
}

async function claimAll(store: TaskStore, now = T0, owner = OWNER): Promise<ClaimedTask[]> {
  const { claimed } = await store.claimReady({ owner, limit: 1000, leaseMs: LEASE, now });
  return claimed;
}

async function start(store: TaskStore, taskId: string, now = T0, rerun: "failed" | "all" = "failed") {
  return (await store.startExecution({ taskId, rerun, now })).execution;
}

async function completeAll(store: TaskStore, claimed: ClaimedTask[], now = T0): Promise<void> {
  for (const c of claimed)
    await store.finishTask(c.task.id, c.leaseToken, { status: "completed", result: { from: c.task.name } }, now);
}

function names(claimed: ClaimedTask[]): string[] {
  return claimed.map((c) => c.task.name);
}

async function statuses(store: TaskStore, rootId: string): Promise<Record<string, TaskStatus>> {
  const out: Record<string, TaskStatus> = {};
  for (const t of await store.getTree(rootId)) out[t.name] = t.status;
  return out;
}

async function expectCode(p: Promise<unknown>, code: number): Promise<void> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, "expected the call to be refused").toBeInstanceOf(ApflowError);
  expect((err as ApflowError).code).toBe(code);
}

const diamond: TaskInput[] = [
  { name: "root", dependencies: ["left", "right"] },
  { name: "left", parentId: "root", dependencies: ["leaf"] },
  { name: "right", parentId: "root", dependencies: ["leaf"] },
  { name: "leaf", parentId: "root" },
];

export const storeContractChecks: StoreCheck[] = [
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
      expect(counts).toEqual({ pending: 3, in_progress: 0, completed: 0, failed: 0, cancelled: 0 });
      expect((await store.listTasks({ status: ["completed"] })).total).toBe(0);
      expect((await store.listTasks({ rootId: ra.id, parentId: ra.id })).total).toBe(2);
    },
  },
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
  {
    name: "a stale or foreign lease token is refused and changes nothing",
    async run(store) {
      const tasks = await create(store, [{ name: "solo" }]);
      const id = (tasks.get("solo") as Task).id;
      await start(store, id);
      const [claimed] = await claimAll(store);
      await expect(
        store.finishTask(id, "not-the-token", { status: "completed", result: 1 }, T0),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(store.reportProgress(id, "not-the-token", 0.5, undefined, T0)).rejects.toBeInstanceOf(
        LeaseLostError,
      );
      expect((await store.getTask(id))?.status).toBe("in_progress");
      await store.finishTask(id, (claimed as ClaimedTask).leaseToken, { status: "completed", result: 1 }, T0);
      await expect(
        store.finishTask(id, (claimed as ClaimedTask).leaseToken, { status: "completed", result: 2 }, T0),
      ).rejects.toBeInstanceOf(LeaseLostError);
      const done = await store.getTask(id);
      expect(done?.status).toBe("completed");
      expect(done?.result).toBe(1);
      expect(done?.progress).toBe(1);
      expect(done?.completedAt).toBe(T0.toISOString());
    },
  },
  {
    name: "a failed required dependency fails its dependents transitively; optional ones do not block",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["mid", { id: "opt", required: false }] },
        { name: "bad", parentId: "root" },
        { name: "mid", parentId: "root", dependencies: ["bad"] },
        { name: "opt", parentId: "root", dependencies: [{ id: "bad2", required: false }] },
        { name: "bad2", parentId: "root" },
      ]);
      const rootId = (tasks.get("root") as Task).id;
      const exec = await start(store, rootId);
      const claimed = await claimAll(store);
      expect(names(claimed).sort()).toEqual(["bad", "bad2"]);
      const bad = claimed.find((c) => c.task.name === "bad") as ClaimedTask;
      const bad2 = claimed.find((c) => c.task.name === "bad2") as ClaimedTask;
      const failed = await store.finishTask(
        bad.task.id,
        bad.leaseToken,
        { status: "failed", error: { code: "BOOM", message: "boom" } },
        T0,
      );
      expect(failed.task.error).toEqual({ code: "BOOM", message: "boom" });
      expect(await statuses(store, rootId)).toMatchObject({ bad: "failed", mid: "failed", root: "failed" });
      const mid = await store.getTask((tasks.get("mid") as Task).id);
      expect(mid?.error?.code).toBe("DEPENDENCY_FAILED");
      expect(mid?.error?.message).toContain("bad");
      expect(
        failed.events
          .filter((e) => e.type === "task.failed")
          .map((e) => e.taskId)
          .sort(),
      ).toEqual([bad.task.id, mid?.id, rootId].sort());
      expect(failed.finished).toEqual([]);
      await store.finishTask(bad2.task.id, bad2.leaseToken, { status: "cancelled" }, T0);
      const [opt] = await claimAll(store);
      expect(opt?.task.name).toBe("opt");
      const last = await store.finishTask(
        opt?.task.id as string,
        opt?.leaseToken as string,
        { status: "completed", result: null },
        T0,
      );
      expect(last.finished.map((e) => [e.id, e.status])).toEqual([[exec.id, "failed"]]);
      expect(last.events.filter((e) => e.type === "tree.finished")).toHaveLength(1);
    },
  },
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
    name: "runAt delays a task and a retry returns it to pending until its time",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["later"] },
        { name: "later", parentId: "root", runAt: at(1000).toISOString() },
      ]);
      await start(store, (tasks.get("root") as Task).id);
      expect(await claimAll(store, at(999))).toEqual([]);
      const [claimed] = await claimAll(store, at(1000));
      expect(claimed?.task.name).toBe("later");
      const retried = await store.finishTask(
        claimed?.task.id as string,
        claimed?.leaseToken as string,
        { status: "failed", error: { code: "FLAKY", message: "try again" }, retryAt: at(5000) },
        at(1001),
      );
      expect(retried.task.status).toBe("pending");
      expect(retried.task.runAt).toBe(at(5000).toISOString());
      expect(retried.events.map((e) => e.type)).toEqual(["task.retrying"]);
      expect(await claimAll(store, at(4999))).toEqual([]);
      const [again] = await claimAll(store, at(5000));
      expect(again?.task.attempt).toBe(2);
      const attempts = await store.getAttempts(again?.task.id as string);
      expect(attempts.map((a) => [a.attempt, a.status, a.error?.code ?? null])).toEqual([
        [1, "failed", "FLAKY"],
        [2, "in_progress", null],
      ]);
    },
  },
  {
    name: "leases: renewal, expiry, reclaim by another owner, and the old token refused",
    async run(store) {
      const tasks = await create(store, [{ name: "solo" }]);
      const id = (tasks.get("solo") as Task).id;
      await start(store, id);
      const [mine] = await claimAll(store, T0, "node-a");
      const renewed = await store.renewLeases(
        "node-a",
        [{ taskId: id, leaseToken: mine?.leaseToken as string }],
        LEASE,
        at(5000),
      );
      expect(renewed).toEqual({ renewed: [id], lost: [], cancelRequested: [] });
      const foreign = await store.renewLeases(
        "node-b",
        [{ taskId: id, leaseToken: mine?.leaseToken as string }],
        LEASE,
        at(5000),
      );
      expect(foreign.lost).toEqual([id]);
      expect((await store.reclaimExpired(at(14_999))).tasks).toEqual([]);
      const reclaimed = await store.reclaimExpired(at(15_001));
      expect(reclaimed.tasks.map((t) => [t.id, t.status])).toEqual([[id, "pending"]]);
      expect(reclaimed.events.map((e) => e.type)).toEqual(["task.retrying"]);
      const [theirs] = await claimAll(store, at(15_002), "node-b");
      expect(theirs?.task.attempt).toBe(2);
      await expect(
        store.finishTask(id, mine?.leaseToken as string, { status: "completed", result: "late" }, at(15_003)),
      ).rejects.toBeInstanceOf(LeaseLostError);
      const lost = await store.renewLeases(
        "node-a",
        [{ taskId: id, leaseToken: mine?.leaseToken as string }],
        LEASE,
        at(15_003),
      );
      expect(lost.lost).toEqual([id]);
      await store.finishTask(id, theirs?.leaseToken as string, { status: "completed", result: "ok" }, at(15_004));
      expect((await store.getTask(id))?.result).toBe("ok");
    },
  },
  {
    name: "reclaim fails a task whose retry policy has no attempts left",
    async run(store) {
      const tasks = await create(store, [{ name: "solo", retry: { maxAttempts: 1 } }]);
      const id = (tasks.get("solo") as Task).id;
      const exec = await start(store, id);
      await claimAll(store);
      const out = await store.reclaimExpired(at(LEASE + 1));
      expect(out.tasks[0]?.status).toBe("failed");
      expect(out.tasks[0]?.error?.code).toBe("LEASE_EXPIRED");
      expect((await store.getExecution(exec.id))?.status).toBe("failed");
    },
  },
  {
    name: "reclaim fails a task without a retry policy once it reached maxAttempts",
    async run(store) {
      const tasks = await create(store, [{ name: "poison" }]);
      const id = (tasks.get("poison") as Task).id;
      const exec = await start(store, id);
      await claimAll(store, at(0));
      const first = await store.reclaimExpired(at(LEASE + 1), { maxAttempts: 2 });
      expect(first.tasks.map((t) => t.status)).toEqual(["pending"]);
      await claimAll(store, at(LEASE + 2));
      const second = await store.reclaimExpired(at(2 * LEASE + 3), { maxAttempts: 2 });
      expect(second.tasks.map((t) => [t.status, t.attempt, t.error?.code])).toEqual([["failed", 2, "LEASE_EXPIRED"]]);
      expect((await store.getExecution(exec.id))?.status).toBe("failed");
    },
  },
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
    name: "cancel of a pending inner task fails its required dependents",
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
      expect(result.finished.map((e) => [e.id, e.status])).toEqual([[exec.id, "failed"]]);
    },
  },
  {
    name: "events: monotonically increasing seq, read after a seq, filtered",
    async run(store) {
      const a = await create(store, [{ name: "ta" }]);
      const b = await create(store, [{ name: "tb" }]);
      const ida = (a.get("ta") as Task).id;
      const exec = await start(store, ida);
      const [c] = await claimAll(store);
      await store.reportProgress(ida, c?.leaseToken as string, 0.5, "half way", at(1));
      await store.finishTask(ida, c?.leaseToken as string, { status: "completed", result: 7 }, at(2));
      const all = await store.readEvents({ afterSeq: 0 });
      for (let i = 1; i < all.length; i++)
        expect((all[i] as { seq: number }).seq).toBeGreaterThan((all[i - 1] as { seq: number }).seq);
      const mine = await store.readEvents({ rootId: ida });
      expect(mine.map((e) => e.type)).toEqual([
        "task.created",
        "tree.started",
        "task.started",
        "task.progress",
        "task.completed",
        "tree.finished",
      ]);
      expect(mine[3]).toMatchObject({ progress: 0.5, message: "half way", status: "in_progress" });
      expect(mine[4]).toMatchObject({ result: 7, status: "completed", executionId: exec.id });
      const after = await store.readEvents({ rootId: ida, afterSeq: (mine[2] as { seq: number }).seq, limit: 2 });
      expect(after.map((e) => e.type)).toEqual(["task.progress", "task.completed"]);
      expect((await store.readEvents({ rootId: (b.get("tb") as Task).id })).map((e) => e.type)).toEqual([
        "task.created",
      ]);
      expect((await store.readEvents({ executionId: exec.id })).map((e) => e.type)).toEqual([
        "tree.started",
        "task.started",
        "task.progress",
        "task.completed",
        "tree.finished",
      ]);
      const appended = await store.appendEvents([
        {
          type: "task.progress",
          taskId: ida,
          rootId: ida,
          executionId: null,
          status: "completed",
          at: at(3).toISOString(),
        },
      ]);
      expect(appended[0]?.seq).toBeGreaterThan((all[all.length - 1] as { seq: number }).seq);
    },
  },
  {
    name: "progress, inputs and checkpoints of a running task are persisted",
    async run(store) {
      const tasks = await create(store, [{ name: "solo", inputs: { a: 1 } }]);
      const id = (tasks.get("solo") as Task).id;
      await start(store, id);
      const [c] = await claimAll(store);
      expect(c?.lastCheckpoint).toBeNull();
      await store.reportProgress(id, c?.leaseToken as string, 0.25, undefined, at(1));
      await store.saveInputs(id, c?.leaseToken as string, { a: 2, b: [1, 2] });
      await store.saveCheckpoint(id, c?.leaseToken as string, { page: 3 });
      const t = await store.getTask(id);
      expect(t?.progress).toBe(0.25);
      expect(t?.inputs).toEqual({ a: 2, b: [1, 2] });
      await store.reclaimExpired(at(LEASE + 10));
      const [again] = await claimAll(store, at(LEASE + 11));
      expect(again?.lastCheckpoint).toEqual({ page: 3 });
    },
  },
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
      await expectCode(store.updateTask(b.id, { priority: 9 }), ErrorCode.InvalidParams);
      await expectCode(store.updateTask("missing", { name: "x" }), ErrorCode.TaskNotFound);
      await start(store, (tasks.get("root") as Task).id);
      const [first] = (await store.claimReady({ owner: OWNER, limit: 1, leaseMs: LEASE, now: T0 })).claimed;
      expect(first?.task.name).toBe("b2");
      await expectCode(store.updateTask(b.id, { name: "again" }), ErrorCode.InvalidTransition);
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
    name: "finishTasks (when implemented) applies each item on its own, in one write",
    async run(store) {
      if (!store.finishTasks) return;
      const tasks = await create(store, [
        { name: "root", dependencies: ["ok", "bad"] },
        { name: "ok", parentId: "root" },
        { name: "bad", parentId: "root" },
        { name: "stale", parentId: "root" },
      ]);
      const rootId = (tasks.get("root") as Task).id;
      const exec = await start(store, rootId);
      const claimed = await claimAll(store);
      const token = (name: string) => (claimed.find((c) => c.task.name === name) as ClaimedTask).leaseToken;
      const id = (name: string) => (tasks.get(name) as Task).id;
      const out = await store.finishTasks(
        [
          { taskId: id("ok"), leaseToken: token("ok"), outcome: { status: "completed", result: { v: 1 } } },
          { taskId: id("stale"), leaseToken: "not-the-token", outcome: { status: "completed", result: null } },
          {
            taskId: id("bad"),
            leaseToken: token("bad"),
            outcome: { status: "failed", error: { code: "X", message: "x" } },
          },
        ],
        at(1),
      );
      expect(
        out.results.map((r) => [r.taskId, r.task?.status ?? null, r.error ? r.error.constructor.name : null]),
      ).toEqual([
        [id("ok"), "completed", null],
        [id("stale"), null, "LeaseLostError"],
        [id("bad"), "failed", null],
      ]);
      expect(await statuses(store, rootId)).toEqual({
        root: "failed",
        ok: "completed",
        bad: "failed",
        stale: "in_progress",
      });
      expect(out.finished).toEqual([]);
      const seqs = out.events.map((e) => e.seq);
      expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
      expect(out.events.filter((e) => e.taskId === rootId).map((e) => e.type)).toEqual(["task.failed"]);
      const last = await store.finishTasks(
        [{ taskId: id("stale"), leaseToken: token("stale"), outcome: { status: "completed", result: null } }],
        at(2),
      );
      expect(last.finished.map((e) => [e.id, e.status])).toEqual([[exec.id, "failed"]]);
      expect(last.events.filter((e) => e.type === "tree.finished")).toHaveLength(1);
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
];
