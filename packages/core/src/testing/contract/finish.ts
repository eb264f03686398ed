import { expect } from "vitest";
import { LeaseLostError } from "../../errors.js";
import type { ClaimedTask } from "../../store/types.js";
import type { Task } from "../../types.js";
import { at, claimAll, create, expectEvents, family, finishTasksOf, names, start, statuses, T0 } from "./support.js";

export const finishChecks = family("finish", [
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
    name: "finishTasks applies each item on its own, in one write",
    async run(store) {
      const finishTasks = finishTasksOf(store);
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
      const out = await finishTasks(
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
      const last = await finishTasks(
        [{ taskId: id("stale"), leaseToken: token("stale"), outcome: { status: "completed", result: null } }],
        at(2),
      );
      expect(last.finished.map((e) => [e.id, e.status])).toEqual([[exec.id, "failed"]]);
      expect(last.events.filter((e) => e.type === "tree.finished")).toHaveLength(1);
    },
  },
  {
    name: "finishTasks writes a mixed batch: completions together, a stale token refused alone, failures cascading",
    async run(store) {
      const finishTasks = finishTasksOf(store);
      const tasks = await create(store, [
        { name: "root", dependencies: ["a", "b", "c"] },
        { name: "a", parentId: "root" },
        { name: "b", parentId: "root" },
        { name: "c", parentId: "root" },
        { name: "after-c", parentId: "root", dependencies: ["c"] },
      ]);
      const id = (name: string) => (tasks.get(name) as Task).id;
      const exec = await start(store, id("root"));
      const claimed = await claimAll(store);
      expect(names(claimed).sort()).toEqual(["a", "b", "c"]);
      const token = (name: string) => (claimed.find((c) => c.task.name === name) as ClaimedTask).leaseToken;
      const boom = { code: "BOOM", message: "no" };
      const result = await finishTasks(
        [
          { taskId: id("a"), leaseToken: token("a"), outcome: { status: "completed", result: { n: 1 } } },
          { taskId: id("b"), leaseToken: "stale", outcome: { status: "completed", result: null } },
          { taskId: id("c"), leaseToken: token("c"), outcome: { status: "failed", error: boom } },
        ],
        at(1),
      );
      expect(result.results.map((r) => r.taskId)).toEqual([id("a"), id("b"), id("c")]);
      expect(result.results[0]?.task?.result).toEqual({ n: 1 });
      expect(result.results[1]?.error).toBeInstanceOf(LeaseLostError);
      expect(result.results[2]?.task?.status).toBe("failed");
      expect(result.finished).toEqual([]);
      const when = at(1).toISOString();
      const of = (name: string) => ({ taskId: id(name), rootId: id("root"), executionId: exec.id });
      const cascade = (name: string, dep: string) => ({
        code: "DEPENDENCY_FAILED",
        message: `dependency ${dep} (${id(dep)}) failed`,
        details: { dependencyId: id(dep), dependencyName: dep, dependencyStatus: "failed" },
        name,
      });
      const { name: _a, ...afterCError } = cascade("after-c", "c");
      const { name: _r, ...rootError } = cascade("root", "c");
      expectEvents(result.events, [
        { type: "task.completed", ...of("a"), status: "completed", result: { n: 1 }, at: when },
        { type: "task.failed", ...of("c"), status: "failed", error: boom, at: when },
        { type: "task.failed", ...of("root"), status: "failed", error: rootError, at: when },
        { type: "task.failed", ...of("after-c"), status: "failed", error: afterCError, at: when },
      ]);
      // The refused item wrote nothing; the others did, cascade included.
      expect((await store.getTask(id("b")))?.status).toBe("in_progress");
      expect((await store.getTask(id("after-c")))?.error?.code).toBe("DEPENDENCY_FAILED");
      const last = await finishTasks(
        [{ taskId: id("b"), leaseToken: token("b"), outcome: { status: "completed", result: null } }],
        at(2),
      );
      expect(last.finished.map((e) => e.status)).toEqual(["failed"]);
      expect(await claimAll(store, at(3))).toEqual([]);
      expect((await store.readEvents({ rootId: id("root") })).filter((e) => e.type === "tree.finished")).toHaveLength(
        1,
      );
    },
  },
  {
    name: "finishing writes exactly these events: completed, failed with its cascade, retrying, cancelled, tree.finished",
    async run(store) {
      const tasks = await create(store, [
        { name: "root", dependencies: ["ok", { id: "opt", required: false }] },
        { name: "ok", parentId: "root" },
        { name: "opt", parentId: "root" },
        { name: "flaky", parentId: "root" },
        { name: "stop", parentId: "root" },
        { name: "needs-bad", parentId: "root", dependencies: ["bad"] },
        { name: "bad", parentId: "root" },
      ]);
      const id = (name: string) => (tasks.get(name) as Task).id;
      const exec = await start(store, id("root"));
      const claimed = await claimAll(store);
      const token = (name: string) => (claimed.find((c) => c.task.name === name) as ClaimedTask).leaseToken;
      const of = (name: string) => ({ taskId: id(name), rootId: id("root"), executionId: exec.id });
      const w = (ms: number) => at(ms).toISOString();
      const ok = await store.finishTask(id("ok"), token("ok"), { status: "completed", result: null }, at(1));
      expectEvents(ok.events, [{ type: "task.completed", ...of("ok"), status: "completed", result: null, at: w(1) }]);
      expect(ok.task.result).toBeNull();
      const flakyError = { code: "FLAKY", message: "again" };
      const retry = await store.finishTask(
        id("flaky"),
        token("flaky"),
        { status: "failed", error: flakyError, retryAt: at(50) },
        at(2),
      );
      const retrying = {
        type: "task.retrying",
        ...of("flaky"),
        status: "pending",
        error: flakyError,
        retryAt: w(50),
        at: w(2),
      } as const;
      expectEvents(retry.events, [retrying]);
      // Read back as written: the next attempt's time is part of the stored event.
      const stored = (await store.readEvents({ taskId: id("flaky") })).filter((e) => e.type === "task.retrying");
      expectEvents(stored, [retrying]);
      const stopped = await store.finishTask(
        id("stop"),
        token("stop"),
        { status: "cancelled", result: { partial: [1, 2] } },
        at(3),
      );
      expectEvents(stopped.events, [
        {
          type: "task.cancelled",
          ...of("stop"),
          status: "cancelled",
          error: { code: "CANCELLED", message: "cancelled" },
          result: { partial: [1, 2] },
          at: w(3),
        },
      ]);
      const optCancelled = await store.finishTask(id("opt"), token("opt"), { status: "cancelled" }, at(4));
      expectEvents(optCancelled.events, [
        {
          type: "task.cancelled",
          ...of("opt"),
          status: "cancelled",
          error: { code: "CANCELLED", message: "cancelled" },
          result: null,
          at: w(4),
        },
      ]);
      const boom = { code: "BOOM", message: "broken", details: { line: 3 } };
      const bad = await store.finishTask(id("bad"), token("bad"), { status: "failed", error: boom }, at(5));
      expectEvents(bad.events, [
        { type: "task.failed", ...of("bad"), status: "failed", error: boom, at: w(5) },
        {
          type: "task.failed",
          ...of("needs-bad"),
          status: "failed",
          error: {
            code: "DEPENDENCY_FAILED",
            message: `dependency bad (${id("bad")}) failed`,
            details: { dependencyId: id("bad"), dependencyName: "bad", dependencyStatus: "failed" },
          },
          at: w(5),
        },
      ]);
      const rest = await claimAll(store, at(50));
      expect(names(rest)).toEqual(["root", "flaky"]);
      const again = rest[1] as ClaimedTask;
      const root = rest[0] as ClaimedTask;
      await store.finishTask(id("flaky"), again.leaseToken, { status: "completed", result: 1 }, at(51));
      const last = await store.finishTask(
        id("root"),
        root?.leaseToken as string,
        { status: "completed", result: { all: true } },
        at(53),
      );
      expectEvents(last.events, [
        { type: "task.completed", ...of("root"), status: "completed", result: { all: true }, at: w(53) },
        {
          type: "tree.finished",
          taskId: id("root"),
          rootId: id("root"),
          executionId: exec.id,
          status: "failed",
          at: w(53),
        },
      ]);
      expect(last.finished).toEqual([{ ...exec, status: "failed", remaining: 0, finishedAt: w(53) }]);
    },
  },
]);
