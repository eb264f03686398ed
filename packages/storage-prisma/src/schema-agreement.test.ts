import { afterAll, beforeAll, describe, expect, it } from "vitest";
import pg from "pg";
import { resolveDatabase } from "./config.js";
import { migrate } from "./migrate/index.js";
import { postgresClient, type StoreClient, sqliteClient } from "./prisma/clients.js";
import {
  createTestDatabase,
  postgresReachable,
  requirePostgresInCi,
  type TestDatabase,
} from "./test-support/postgres.js";
import { tempDir } from "./test-support/sqlite.js";

/**
 * The committed SQL and the Prisma models must describe the same tables: after migrating, every
 * model is written with every field set and read back through the generated client.
 */
async function writeAndReadEveryModel(prisma: StoreClient): Promise<void> {
  const at = new Date("2030-01-02T03:04:05.678Z");
  const task = await prisma.task.create({
    data: {
      id: "t1",
      parentId: "p1",
      rootId: "r1",
      userId: "u1",
      name: "every field",
      status: "in_progress",
      priority: 0,
      dependencies: [{ id: "d1", required: false }],
      inputs: { a: 1 },
      params: { executorId: "x" },
      schemas: { method: "x" },
      result: { ok: true },
      error: { code: "E", message: "m" },
      progress: 0.5,
      attempt: 2,
      retry: { maxAttempts: 3 },
      runAt: at,
      userRunAt: at,
      originalTaskId: "o1",
      hasChildren: true,
      metadata: { tag: "x" },
      createdAt: at,
      updatedAt: at,
      startedAt: at,
      completedAt: at,
      ordinal: 7n,
      unresolved: 1,
      executionId: "e1",
      leaseOwner: "node",
      leaseToken: "token",
      leaseExpiresAt: at,
      cancelRequested: true,
      checkpoint: { step: 3 },
      wait: { prompt: "ok?", since: "2030-01-02T03:04:05.678Z", answers: [] },
      waitEvent: "ticket",
      waitKey: "T-1",
      waitDeadline: at,
      executor: "x",
      placement: { requires: ["gpu"], prefers: ["cache:eu"] },
      placedOn: "node-b",
      placeFollows: true,
    },
  });
  expect(task.waitDeadline?.toISOString()).toBe(at.toISOString());
  expect(task.wait).toEqual({ prompt: "ok?", since: "2030-01-02T03:04:05.678Z", answers: [] });
  expect(task.runAt?.toISOString()).toBe(at.toISOString());
  expect(task.userRunAt?.toISOString()).toBe(at.toISOString());
  expect(task.dependencies).toEqual([{ id: "d1", required: false }]);
  expect(task.ordinal).toBe(7n);

  await prisma.taskDependency.create({ data: { taskId: "t1", dependsOnId: "d1", required: false, position: 0 } });
  const execution = await prisma.execution.create({
    data: {
      id: "e1",
      rootId: "r1",
      taskId: "r1",
      status: "running",
      cancelRequested: false,
      remaining: 1,
      total: 1,
      failed: 0,
      demo: true,
      userId: "u1",
      createdAt: at,
      finishedAt: null,
      ordinal: 1n,
    },
  });
  expect(execution.demo).toBe(true);
  const event = await prisma.event.create({
    data: {
      type: "task.started",
      taskId: "t1",
      rootId: "r1",
      executionId: "e1",
      status: "in_progress",
      progress: 0.25,
      message: "hi",
      result: { r: 1 },
      error: { code: "E", message: "m" },
      data: { prompt: "ok?" },
      at,
    },
  });
  expect(typeof event.seq).toBe("bigint");
  expect(event.data).toEqual({ prompt: "ok?" });
  await prisma.attempt.create({
    data: {
      taskId: "t1",
      attempt: 1,
      startedAt: at,
      endedAt: at,
      status: "failed",
      error: { code: "E", message: "m" },
      owner: "node",
    },
  });

  const read = await prisma.task.findUniqueOrThrow({ where: { id: "t1" } });
  expect(read).toEqual(task);
  expect(await prisma.taskDependency.count()).toBe(1);
  expect(await prisma.execution.findUniqueOrThrow({ where: { id: "e1" } })).toEqual(execution);
  expect((await prisma.event.findMany())[0]).toEqual(event);
  expect(await prisma.attempt.count({ where: { taskId: "t1" } })).toBe(1);

  const schedule = await prisma.schedule.create({
    data: {
      id: "s1",
      name: "nightly",
      userId: "u1",
      tasks: [{ name: "root" }],
      trigger: { type: "interval", everyMs: 60000 },
      startAt: at,
      endAt: at,
      maxRuns: 3,
      enabled: false,
      catchUp: "all",
      overlap: "queue",
      lastFireAt: at,
      runs: 2,
      createdAt: at,
      updatedAt: at,
    },
  });
  const run = await prisma.scheduleRun.create({
    data: { scheduleId: "s1", fireAt: at, rootId: "r1", state: "started", manual: true, createdAt: at, updatedAt: at },
  });
  expect(await prisma.schedule.findUniqueOrThrow({ where: { id: "s1" } })).toEqual(schedule);
  expect(
    await prisma.scheduleRun.findUniqueOrThrow({ where: { scheduleId_fireAt: { scheduleId: "s1", fireAt: at } } }),
  ).toEqual(run);

  const node = await prisma.node.create({
    data: {
      nodeId: "n1",
      host: "h",
      pid: 42,
      version: "1.0.0",
      executors: '["x"]',
      tags: '["gpu"]',
      cpu: 2,
      memory: 8_000_000_000n,
      concurrency: 4,
      running: 1,
      load: 0.5,
      heartbeatMs: 2000,
      deadAfterMs: 10000,
      draining: true,
      startedAt: at,
      heartbeatAt: at,
      handedBackAt: at,
      wakeups: '{"transport":"redis","connected":false,"since":"2030-01-02T03:04:05.678Z"}',
    },
  });
  expect(await prisma.node.findUniqueOrThrow({ where: { nodeId: "n1" } })).toEqual(node);
}

describe("SQL migrations agree with the Prisma models", () => {
  const dir = tempDir("apflow-agreement-");
  afterAll(() => dir.remove());

  it("on SQLite", async () => {
    const url = `file:${dir.file()}`;
    await migrate({ url });
    const prisma = sqliteClient(resolveDatabase(url).url);
    try {
      await writeAndReadEveryModel(prisma);
    } finally {
      await prisma.$disconnect();
    }
  });
});

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("SQL migrations agree with the Prisma models on PostgreSQL", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("on PostgreSQL", async () => {
    await migrate({ url: database.url });
    const pool = new pg.Pool({ connectionString: database.url, max: 2 });
    const prisma = postgresClient(pool);
    try {
      await writeAndReadEveryModel(prisma);
    } finally {
      await prisma.$disconnect();
      await pool.end();
    }
  });
});
