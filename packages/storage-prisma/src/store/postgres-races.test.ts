import {
  AlreadyExecutingError,
  ApflowError,
  ErrorCode,
  type NewEvent,
  type NewTask,
  type TaskEvent,
  validateTasks,
} from "@aipartnerupflow/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveDatabase } from "../config.js";
import { openDatabase } from "../db/open.js";
import type { SqlDatabase } from "../db/types.js";
import { appendEvents } from "../sql/append-events.js";
import { claimReady } from "../sql/claim-ready.js";
import { insertTasks } from "../sql/insert-tasks.js";
import { startExecution } from "../sql/start-execution.js";
import {
  postgresReachable,
  requirePostgresInCi,
  truncateStore,
  useMigratedTestDatabase,
} from "../test-support/postgres.js";
import { createPrismaStore } from "./create.js";
import type { PrismaTaskStore } from "./prisma-store.js";

/**
 * Races between PostgreSQL transactions, made deterministic: one transaction is held open at a
 * chosen point (a promise it awaits) while another runs, and the test waits — by asking
 * pg_stat_activity, not by a delay — until the second is blocked on the first's row lock.
 */
const T0 = new Date("2030-01-01T00:00:00.000Z");

/** A promise and the function that resolves it. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("PostgreSQL races", () => {
  const database = useMigratedTestDatabase();
  let observer: pg.Client;
  let db: SqlDatabase;
  let store: PrismaTaskStore;

  beforeAll(async () => {
    observer = new pg.Client({ connectionString: database.url() });
    await observer.connect();
  });
  afterAll(async () => {
    await observer?.end();
  });

  async function open(): Promise<void> {
    await truncateStore(database.url());
    db = openDatabase(resolveDatabase(database.url()), { poolSize: 4 }).db;
    store = await createPrismaStore({ url: database.url(), poolSize: 4 });
  }
  async function close(): Promise<void> {
    await store.close();
    await db.close();
  }

  /**
   * Wait until `count` sessions of the test database wait for a lock (polling, no deadline), or
   * until `done` says to stop looking.
   */
  async function blockedOnLock(count = 1, done: () => boolean = () => false): Promise<void> {
    while (!done()) {
      const { rows } = await observer.query<{ n: string }>(
        "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
      );
      if (Number(rows[0]?.n) >= count) return;
      await new Promise((r) => setTimeout(r, 5));
    }
  }

  async function oneTaskRunning(): Promise<string> {
    const [tree] = validateTasks([{ name: "root" }], { now: T0 });
    const { tasks } = await store.createTasks(tree as NewTask[], T0);
    const root = tasks[0]?.id as string;
    await store.startExecution({ taskId: root, now: T0 });
    return root;
  }

  it("a cancel racing a claim flags the task the claim took", async () => {
    await open();
    try {
      const root = await oneTaskRunning();
      const held = gate();
      const claimedIn = gate();
      // The claim's transaction, held open after its UPDATE (row locked, not committed).
      const claim = db.transaction(async (tx) => {
        const r = await claimReady(tx, { owner: "n1", limit: 10, leaseMs: 60_000, now: T0 }, T0);
        claimedIn.open();
        await held.promise;
        return r;
      });
      await claimedIn.promise;
      const cancel = store.cancel(root, { now: T0 });
      await blockedOnLock();
      held.open();
      const [claimed, cancelled] = await Promise.all([claim, cancel]);

      expect(claimed.claimed.map((c) => c.task.id)).toEqual([root]);
      expect(cancelled.cancelled).toEqual([]);
      expect(cancelled.running).toEqual([{ taskId: root, leaseOwner: "n1" }]);
      const lease = { taskId: root, leaseToken: claimed.claimed[0]?.leaseToken as string };
      expect((await store.renewLeases("n1", [lease], 60_000, T0)).cancelRequested).toEqual([root]);
      await store.finishTask(root, lease.leaseToken, { status: "failed", error: { code: "X", message: "x" } }, T0);
      expect((await store.getTask(root))?.status).toBe("cancelled");
      expect((await store.listExecutions({ rootId: root }))[0]?.status).toBe("cancelled");
    } finally {
      await close();
    }
  });

  it("a reader paging by seq never misses an event of two concurrent writers", async () => {
    await open();
    try {
      const root = await oneTaskRunning();
      const event = (message: string): NewEvent => ({
        type: "task.progress",
        taskId: root,
        rootId: root,
        executionId: null,
        status: "in_progress",
        message,
        at: T0.toISOString(),
      });
      // A reader that pages with `afterSeq`, as subscribers do.
      const seen: TaskEvent[] = [];
      const poll = async () => {
        const after = seen.at(-1)?.seq;
        for (const e of await store.readEvents({ rootId: root, ...(after === undefined ? {} : { afterSeq: after }) }))
          seen.push(e);
      };
      await poll();

      const held = gate();
      const insertedIn = gate();
      // Writer 1 appends, then stays uncommitted.
      const slow = db.transaction(async (tx) => {
        const written = await appendEvents(tx, [event("slow")]);
        insertedIn.open();
        await held.promise;
        return written;
      });
      await insertedIn.promise;
      // Writer 2 appends while writer 1 is open; the reader reads meanwhile.
      let fastDone = false;
      const fast = store.appendEvents([event("fast")]).finally(() => {
        fastDone = true;
      });
      await blockedOnLock(1, () => fastDone);
      await poll();
      held.open();
      const written = [...(await slow), ...(await fast)];
      await poll();

      const all = await store.readEvents({ rootId: root });
      expect(seen.map((e) => e.seq)).toEqual(all.map((e) => e.seq));
      expect(seen.map((e) => e.message).filter(Boolean)).toEqual(["slow", "fast"]);
      expect(written.map((e) => e.seq)).toEqual(all.slice(-2).map((e) => e.seq));
    } finally {
      await close();
    }
  });

  it("concurrent starts of one tree: the second is refused with AlreadyExecutingError naming the first", async () => {
    await open();
    try {
      const [tree] = validateTasks([{ name: "root" }], { now: T0 });
      const { tasks } = await store.createTasks(tree as NewTask[], T0);
      const root = tasks[0]?.id as string;
      const held = gate();
      const insertedIn = gate();
      // The first start, held open after inserting its running execution (not committed).
      const first = db.transaction(async (tx) => {
        const r = await startExecution(tx, { taskId: root, now: T0 }, T0.toISOString());
        insertedIn.open();
        await held.promise;
        return r;
      });
      await insertedIn.promise;
      // The second passed the check (nothing committed yet) and waits on the unique index.
      const second = store.startExecution({ taskId: root, now: T0 }).then(
        () => null,
        (err: unknown) => err,
      );
      await blockedOnLock();
      held.open();
      const { execution } = await first;
      const refused = await second;
      expect(refused).toBeInstanceOf(AlreadyExecutingError);
      expect((refused as AlreadyExecutingError).code).toBe(ErrorCode.AlreadyExecuting);
      expect((refused as AlreadyExecutingError).data).toEqual({ rootId: root, executionId: execution.id });
      expect((await store.listExecutions({ rootId: root })).map((e) => e.id)).toEqual([execution.id]);
    } finally {
      await close();
    }
  });

  it("concurrent creates of one task id: the second is refused as a duplicate id", async () => {
    await open();
    try {
      const [tree] = validateTasks([{ id: "same", name: "first" }], { now: T0 });
      const [again] = validateTasks([{ id: "same", name: "second" }], { now: T0 });
      const held = gate();
      const insertedIn = gate();
      const first = db.transaction(async (tx) => {
        const r = await insertTasks(tx, tree as NewTask[], T0.toISOString());
        insertedIn.open();
        await held.promise;
        return r;
      });
      await insertedIn.promise;
      const second = store.createTasks(again as NewTask[], T0).then(
        () => null,
        (err: unknown) => err,
      );
      await blockedOnLock();
      held.open();
      await first;
      const refused = await second;
      expect(refused).toBeInstanceOf(ApflowError);
      expect((refused as ApflowError).code).toBe(ErrorCode.InvalidTask);
      expect((refused as ApflowError).message).toBe("task id already exists: same");
      expect((refused as ApflowError).data).toEqual({
        errors: [{ path: "id", code: "duplicate_id", message: "task id already exists: same" }],
      });
      expect((await store.getTask("same"))?.name).toBe("first");
    } finally {
      await close();
    }
  });
});
