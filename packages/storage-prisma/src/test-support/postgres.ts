import { randomBytes } from "node:crypto";
import pg from "pg";
import { afterAll, beforeAll } from "vitest";
import { migrate } from "../migrate/index.js";

/**
 * Throw-away PostgreSQL databases for tests: each test file creates `apflow_test_<random>` on the
 * server and drops it afterwards, so parallel files never share state. The server defaults to the
 * local development one (trust auth); `APFLOW_TEST_PG_URL` points elsewhere.
 */
export const ADMIN_URL = process.env.APFLOW_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

/** Whether the server answers. Tests skip locally when it does not, and fail in CI (CI=true). */
export async function postgresReachable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function requirePostgresInCi(reachable: boolean): void {
  if (!reachable && process.env.CI) {
    throw new Error(
      `PostgreSQL is not reachable at ${ADMIN_URL.replace(/\/\/[^@]*@/, "//")} and CI is set: the PostgreSQL tests must run in CI`,
    );
  }
  if (!reachable)
    console.warn(`PostgreSQL not reachable at ${ADMIN_URL}: PostgreSQL tests skipped (they fail when CI=true)`);
}

export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `apflow_test_${randomBytes(6).toString("hex")}`;
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const client = new pg.Client({ connectionString: ADMIN_URL });
      await client.connect();
      try {
        await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Empty every store table (between contract checks that share one database). */
export async function truncateStore(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Every table of the store, its facets' too (schedules, idempotency, A2A state), so each
    // contract check starts from an empty store whatever it touches.
    await client.query(
      `TRUNCATE tasks, task_dependencies, executions, events, attempts, schedules, schedule_runs,
        idempotency_keys, unique_trees, a2a_conversations, a2a_push_configs, nodes, node_events, limit_rules,
        limit_buckets, limit_claims RESTART IDENTITY`,
    );
  } finally {
    await client.end();
  }
}

/**
 * A migrated throw-away database for the surrounding `describe`: created before its tests,
 * dropped after them. `url()` is valid inside tests and hooks.
 */
export function useMigratedTestDatabase(): { url(): string } {
  let database: TestDatabase | undefined;
  beforeAll(async () => {
    database = await createTestDatabase();
    await migrate({ url: database.url });
  });
  afterAll(async () => {
    await database?.drop();
  });
  return {
    url() {
      if (!database) throw new Error("the test database exists only inside the describe block's tests");
      return database.url;
    },
  };
}
