import { ErrorCode, type NewTask, type TaskStore, validateTasks } from "@aipartnerupflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { postgresReachable, requirePostgresInCi, useMigratedTestDatabase } from "../test-support/postgres.js";
import { createPrismaStore } from "./create.js";

/**
 * Waiting tasks with two stores (two processes' connection pools) on one PostgreSQL database:
 * the expiry and the answers race, and each applies exactly once.
 */
const T0 = new Date("2030-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms);

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("PostgreSQL: waits raced by two stores", () => {
  const database = useMigratedTestDatabase();
  let a: TaskStore;
  let b: TaskStore;

  beforeAll(async () => {
    a = await createPrismaStore({ url: database.url(), poolSize: 4 });
    b = await createPrismaStore({ url: database.url(), poolSize: 4 });
  });
  afterAll(async () => {
    await a?.close();
    await b?.close();
  });

  /** A tree of `n` tasks under a root, every one waiting with `wait`. */
  async function waitingTree(n: number, wait: Parameters<TaskStore["finishTask"]>[2]): Promise<string[]> {
    const tasks = [{ name: "root" }, ...Array.from({ length: n }, (_, i) => ({ name: `t${i}`, parentId: "root" }))];
    const [tree] = validateTasks(tasks, { now: T0 });
    const created = (await a.createTasks(tree as NewTask[], T0)).tasks;
    const root = created.find((t) => t.name === "root")?.id as string;
    await a.startExecution({ taskId: root, now: T0 });
    const { claimed } = await a.claimReady({ owner: "x", limit: 1000, leaseMs: 60_000, now: T0 });
    const ids: string[] = [];
    for (const c of claimed) {
      if (c.task.name === "root") continue;
      await a.finishTask(c.task.id, c.leaseToken, wait, T0);
      ids.push(c.task.id);
    }
    return ids;
  }

  it("expiry: two stores polling at once apply onTimeout to each wait exactly once", async () => {
    const ids = await waitingTree(40, { status: "waiting", wait: { prompt: "p", timeoutMs: 10 } });
    const expired: string[] = [];
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all([
        a.expireWaits(at(20 + round), { limit: 7 }),
        b.expireWaits(at(20 + round), { limit: 7 }),
        a.expireWaits(at(20 + round), { limit: 7 }),
        b.expireWaits(at(20 + round), { limit: 7 }),
      ]);
      for (const r of results) expired.push(...r.tasks.map((t) => t.id));
    }
    while (true) {
      const rest = await Promise.all([a.expireWaits(at(99)), b.expireWaits(at(99))]);
      const got = rest.flatMap((r) => r.tasks.map((t) => t.id));
      if (got.length === 0) break;
      expired.push(...got);
    }
    expect(expired.sort()).toEqual([...ids].sort());
    const rootId = (await a.getTask(ids[0] as string))?.rootId as string;
    const events = await a.readEvents({ rootId, limit: 10_000 });
    for (const id of ids) {
      expect(events.filter((e) => e.taskId === id && e.type === "task.failed")).toHaveLength(1);
    }
    expect(events.filter((e) => e.type === "tree.finished")).toHaveLength(0);
  });

  it("answers: of concurrent answers from two stores exactly one resumes; N-of-M answers are never lost", async () => {
    const [one] = await waitingTree(1, { status: "waiting", wait: { prompt: "p" } });
    const results = await Promise.allSettled(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 === 0 ? a : b).resumeTask(one as string, { by: null, at: at(1).toISOString(), input: i }, at(1)),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results) {
      if (r.status === "rejected") expect((r.reason as { code: number }).code).toBe(ErrorCode.InvalidTransition);
    }

    const [many] = await waitingTree(1, { status: "waiting", wait: { prompt: "p", required: 4 } });
    const answers = await Promise.all(
      ["u0", "u1", "u2", "u3"].map((u, i) =>
        (i % 2 === 0 ? a : b).resumeTask(
          many as string,
          { by: u, at: at(2).toISOString(), input: { approved: true } },
          at(2),
        ),
      ),
    );
    expect(answers.filter((r) => r.resumed)).toHaveLength(1);
    const task = await a.getTask(many as string);
    expect(task?.status).toBe("pending");
    expect(task?.wait?.answers.map((x) => x.by).sort()).toEqual(["u0", "u1", "u2", "u3"]);
  });
});
