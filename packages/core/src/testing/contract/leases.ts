import { expect } from "vitest";
import { LeaseLostError } from "../../errors.js";
import type { Task } from "../../types.js";
import { at, claimAll, create, family, LEASE, start, T0 } from "./support.js";

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
