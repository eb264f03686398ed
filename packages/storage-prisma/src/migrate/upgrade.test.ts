import { type NewTask, validateTasks } from "@aipartnerupflow/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveDatabase } from "../config.js";
import { openDatabase } from "../db/open.js";
import type { SqlDatabase } from "../db/types.js";
import { createPrismaStore } from "../store/create.js";
import {
  createTestDatabase,
  postgresReachable,
  requirePostgresInCi,
  type TestDatabase,
} from "../test-support/postgres.js";
import { tempDir } from "../test-support/sqlite.js";
import { loadMigrations } from "./files.js";
import { migrate } from "./index.js";
import { runMigrations } from "./runner.js";

/** A database migrated to 0001 only, with one task and one execution already in it. */
async function databaseAt0001(url: string): Promise<void> {
  const target = resolveDatabase(url);
  const { db } = openDatabase(target);
  try {
    await runMigrations(db, loadMigrations(target.provider).slice(0, 1));
    await seed(db);
  } finally {
    await db.close();
  }
}

async function seed(db: SqlDatabase): Promise<void> {
  const at = new Date("2030-01-01T00:00:00.000Z");
  await db.run(
    `INSERT INTO tasks (id, root_id, name, status, created_at, updated_at, ordinal)
     VALUES ('old', 'old', 'old', 'pending', ?, ?, 41)`,
    [at, at],
  );
  await db.run(
    `INSERT INTO executions (id, root_id, task_id, status, created_at, ordinal)
     VALUES ('old-exec', 'old', 'old', 'completed', ?, 7)`,
    [at],
  );
}

const NOW = new Date("2030-01-02T00:00:00.000Z");

function tree(prefix: string): NewTask[] {
  const [tasks] = validateTasks(
    [
      { id: `${prefix}-root`, name: "root", dependencies: [`${prefix}-a`, `${prefix}-b`] },
      { id: `${prefix}-a`, name: "a", parentId: `${prefix}-root` },
      { id: `${prefix}-b`, name: "b", parentId: `${prefix}-root` },
    ],
    { now: NOW },
  );
  return tasks as NewTask[];
}

describe("0002 on an existing SQLite database", () => {
  const dir = tempDir("apflow-upgrade-");
  afterAll(() => dir.remove());

  it("replaces the hot-path indexes and keeps the data and its order", async () => {
    const url = `file:${dir.file()}`;
    await databaseAt0001(url);
    const report = await migrate({ url });
    expect(report.applied).toEqual(
      loadMigrations("sqlite")
        .slice(1)
        .map((m) => m.id),
    );

    const { db } = openDatabase(resolveDatabase(url));
    try {
      const indexes = await db.all<{ name: string; sql: string }>(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND name IN ('tasks_ready_idx', 'tasks_lease_idx', 'events_task_idx') ORDER BY name",
      );
      expect(indexes.map((i) => i.name)).toEqual(["tasks_lease_idx", "tasks_ready_idx"]);
      for (const index of indexes) expect(index.sql).toMatch(/WHERE "status" = '(pending|in_progress)'/);
    } finally {
      await db.close();
    }

    const store = await createPrismaStore({ url });
    try {
      await store.createTasks(tree("new"), NOW);
      const ordinals = await store.listTasks({ order: "createdAt" });
      expect(ordinals.tasks.map((t) => t.id)).toEqual(["old", "new-root", "new-a", "new-b"]);
      await store.startExecution({ taskId: "new-root", now: NOW });
      const { claimed } = await store.claimReady({ owner: "o", limit: 10, leaseMs: 60_000, now: NOW });
      expect(claimed.map((c) => c.task.id)).toEqual(["new-a", "new-b"]);
    } finally {
      await store.close();
    }
  });
});

const reachable = await postgresReachable();
requirePostgresInCi(reachable);

describe.skipIf(!reachable)("0002 on an existing PostgreSQL database", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });

  it("continues creation order after the existing rows, and processes creating at once never tie", async () => {
    await databaseAt0001(database.url);
    const report = await migrate({ url: database.url });
    expect(report.applied).toEqual(
      loadMigrations("postgres")
        .slice(1)
        .map((m) => m.id),
    );

    const stores = await Promise.all([1, 2].map(() => createPrismaStore({ url: database.url, poolSize: 4 })));
    try {
      // Two stores (two pools: as two processes would) create trees and start executions at once.
      await Promise.all(
        stores.flatMap((store, s) => Array.from({ length: 6 }, (_, i) => store.createTasks(tree(`s${s}-${i}`), NOW))),
      );
      await Promise.all(
        stores.flatMap((store, s) =>
          Array.from({ length: 6 }, (_, i) => store.startExecution({ taskId: `s${s}-${i}-root`, now: NOW })),
        ),
      );
      const { db } = openDatabase(resolveDatabase(database.url));
      try {
        const tasks = await db.all<{ id: string; ordinal: string }>("SELECT id, ordinal FROM tasks ORDER BY ordinal");
        const ordinals = tasks.map((t) => Number(t.ordinal));
        expect(new Set(ordinals).size).toBe(ordinals.length);
        expect(tasks[0]).toEqual({ id: "old", ordinal: "41" });
        expect(Math.min(...ordinals.slice(1))).toBeGreaterThan(41);
        // Within one tree, creation order is the order of the list.
        for (let s = 0; s < 2; s++) {
          for (let i = 0; i < 6; i++) {
            const ids = tasks.map((t) => t.id).filter((id) => id.startsWith(`s${s}-${i}-`));
            expect(ids).toEqual([`s${s}-${i}-root`, `s${s}-${i}-a`, `s${s}-${i}-b`]);
          }
        }
        const executions = await db.all<{ ordinal: string }>("SELECT ordinal FROM executions WHERE id <> 'old-exec'");
        const execOrdinals = executions.map((e) => Number(e.ordinal));
        expect(execOrdinals).toHaveLength(12);
        expect(new Set(execOrdinals).size).toBe(12);
        expect(Math.min(...execOrdinals)).toBeGreaterThan(7);
      } finally {
        await db.close();
      }
    } finally {
      await Promise.all(stores.map((s) => s.close()));
    }
  });
});

/**
 * 0003 on a database at 0002 holding tasks: a task's run_at becomes its user_run_at (what a re-run
 * restores), a task without one keeps none, and the store works on the upgraded database.
 */
async function check0003(url: string, provider: "sqlite" | "postgres"): Promise<void> {
  const target = resolveDatabase(url);
  const before = openDatabase(target);
  const at = new Date("2030-01-01T00:00:00.000Z");
  const runAt = new Date("2030-01-01T01:00:00.000Z");
  try {
    await runMigrations(before.db, loadMigrations(provider).slice(0, 2));
    await before.db.run(
      `INSERT INTO tasks (id, root_id, name, status, run_at, created_at, updated_at, ordinal)
       VALUES ('delayed', 'delayed', 'delayed', 'completed', ?, ?, ?, 1), ('plain', 'plain', 'plain', 'completed', NULL, ?, ?, 2)`,
      [runAt, at, at, at, at],
    );
  } finally {
    await before.db.close();
  }
  const report = await migrate({ url });
  expect(report.applied).toEqual(
    loadMigrations(provider)
      .slice(2)
      .map((m) => m.id),
  );

  const after = openDatabase(target);
  try {
    const same = await after.db.all<{ id: string }>("SELECT id FROM tasks WHERE user_run_at = run_at ORDER BY id");
    expect(same.map((r) => r.id)).toEqual(["delayed"]);
    const none = await after.db.all<{ id: string }>("SELECT id FROM tasks WHERE user_run_at IS NULL ORDER BY id");
    expect(none.map((r) => r.id)).toEqual(["plain"]);
  } finally {
    await after.db.close();
  }
  const store = await createPrismaStore({ url });
  try {
    await store.startExecution({ taskId: "delayed", rerun: "all", now: at });
    expect((await store.getTask("delayed"))?.runAt).toBe(runAt.toISOString());
    expect((await store.claimReady({ owner: "o", limit: 10, leaseMs: 60_000, now: at })).claimed).toEqual([]);
  } finally {
    await store.close();
  }
}

describe("0003 on an existing SQLite database", () => {
  const dir = tempDir("apflow-upgrade-");
  afterAll(() => dir.remove());
  it("keeps each task's run_at as the user's", () => check0003(`file:${dir.file()}`, "sqlite"));
});

describe.skipIf(!reachable)("0003 on an existing PostgreSQL database", () => {
  let database: TestDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    await database?.drop();
  });
  it("keeps each task's run_at as the user's", () => check0003(database.url, "postgres"));
});
