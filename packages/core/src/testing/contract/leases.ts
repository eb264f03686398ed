import { expect } from "vitest";
import { LeaseLostError } from "../../errors.js";
import type { Task } from "../../types.js";
import { at, claimAll, create, expectEvents, family, LEASE, start, T0 } from "./support.js";

export const leaseChecks = family("leases", [
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
      const retrying = {
        type: "task.retrying",
        taskId: id,
        rootId: id,
        executionId: mine?.executionId as string,
        status: "pending",
        error: { code: "LEASE_EXPIRED", message: "lease of node-a expired" },
        retryAt: at(15_001).toISOString(),
        at: at(15_001).toISOString(),
      } as const;
      expectEvents(reclaimed.events, [retrying]);
      expectEvents(
        (await store.readEvents({ taskId: id })).filter((e) => e.type === "task.retrying"),
        [retrying],
      );
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
    name: "reclaim applies the executor's default retry policy to a task without its own",
    async run(store) {
      const tasks = await create(store, [
        { name: "root" },
        { name: "sturdy", parentId: "root", params: { executorId: "sturdy" } },
        { name: "fragile", parentId: "root", params: { executorId: "fragile" } },
        { name: "own", parentId: "root", schemas: { method: "sturdy" }, retry: { maxAttempts: 1 } },
        { name: "plain", parentId: "root", schemas: { method: "plain" } },
      ]);
      const id = (name: string) => (tasks.get(name) as Task).id;
      await start(store, id("root"));
      const options = {
        maxAttempts: 5,
        executorRetry: { sturdy: { maxAttempts: 3 }, fragile: { maxAttempts: 1 } },
      };
      let now = 0;
      const round = async (): Promise<Array<[string, string, number]>> => {
        await claimAll(store, at(now));
        now += LEASE + 1;
        const out = await store.reclaimExpired(at(now), options);
        return out.tasks
          .filter((t) => t.name !== "root")
          .map((t) => [t.name, t.status, t.attempt] as [string, string, number])
          .sort();
      };
      // fragile: its executor allows 1 attempt; own: its own policy wins over its executor's.
      expect(await round()).toEqual([
        ["fragile", "failed", 1],
        ["own", "failed", 1],
        ["plain", "pending", 1],
        ["sturdy", "pending", 1],
      ]);
      expect(await round()).toEqual([
        ["plain", "pending", 2],
        ["sturdy", "pending", 2],
      ]);
      // sturdy: its executor's 3 attempts; plain (no policy anywhere): maxAttempts 5.
      expect(await round()).toEqual([
        ["plain", "pending", 3],
        ["sturdy", "failed", 3],
      ]);
      expect((await store.getTask(id("sturdy")))?.error?.code).toBe("LEASE_EXPIRED");
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
]);
