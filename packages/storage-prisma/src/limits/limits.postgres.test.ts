import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine } from "@aipartnerupflow/core";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { sleepyRegistry } from "../test-support/limits-child.js";
import {
  createTestDatabase,
  postgresReachable,
  requirePostgresInCi,
  type TestDatabase,
} from "../test-support/postgres.js";
import { createPrismaStore } from "../store/create.js";

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, "..", "..");
const reachable = await postgresReachable();
requirePostgresInCi(reachable);

const TREES = 12;

function startEngine(url: string, owner: string): { child: ChildProcess; started: Promise<void> } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(here, "..", "test-support", "limits-child.ts"), url, owner],
    {
      cwd: packageRoot,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const started = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("started")) resolve();
    });
    child.on("exit", (code, signal) => reject(new Error(`engine ${owner} exited early: ${code ?? signal}`)));
  });
  return { child, started };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe.skipIf(!reachable)("limits across processes on PostgreSQL", () => {
  let database: TestDatabase;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    database = await createTestDatabase();
  });
  afterAll(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    await database?.drop();
  });

  it("two engines never exceed a global limit of 2, and one killed with SIGKILL while holding slots leaks none", {
    timeout: 180_000,
  }, async () => {
    const url = database.url;
    const store = await createPrismaStore({ url, migrate: true });
    await store.limits.set({ scope: "global", maxRunning: 2 });
    // A producer: stores and queues the trees, runs nothing.
    const producer = new Engine({ store, registry: sleepyRegistry(), claim: false });
    const roots: string[] = [];
    for (let i = 0; i < TREES; i++) {
      const [root] = await producer.createTree([{ name: `t${i}`, params: { executorId: "sleepy" } }]);
      roots.push((root as { id: string }).id);
    }

    const sampler = new pg.Client({ connectionString: url });
    await sampler.connect();
    const samples: number[] = [];
    const sample = async () => {
      const { rows } = await sampler.query<{ n: string; a: string }>(
        "SELECT COUNT(*) AS n, COUNT(*) FILTER (WHERE lease_owner = 'engine-a') AS a FROM tasks WHERE status = 'in_progress'",
      );
      samples.push(Number(rows[0]?.n));
      return { running: Number(rows[0]?.n), heldByA: Number(rows[0]?.a) };
    };
    let sampling = true;
    const sampled = (async () => {
      while (sampling) {
        await sample();
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();

    try {
      const a = startEngine(url, "engine-a");
      const b = startEngine(url, "engine-b");
      children.push(a.child, b.child);
      await Promise.all([a.started, b.started]);
      for (const root of roots) await producer.execute(root);

      // Kill A while it holds slots; its tasks stay in progress until their leases expire.
      await waitFor(async () => ((await sample()).heldByA > 0 ? true : undefined), "engine-a to hold a slot");
      const exited = new Promise((resolve) => a.child.once("exit", resolve));
      a.child.kill("SIGKILL");
      await exited;
      const { rows: held } = await sampler.query<{ id: string }>(
        "SELECT id FROM tasks WHERE status = 'in_progress' AND lease_owner = 'engine-a'",
      );

      // B finishes everything, A's tasks after their leases lapse.
      await waitFor(async () => {
        const counts = await store.countByStatus({});
        return counts.completed === TREES ? true : undefined;
      }, "every task completed by engine-b");
      sampling = false;
      await sampled;

      expect(Math.max(...samples)).toBeLessThanOrEqual(2);
      expect(Math.max(...samples)).toBe(2);
      for (const { id } of held) {
        const attempts = await store.getAttempts(id);
        expect(attempts.at(-1)).toMatchObject({ owner: "engine-b", status: "completed" });
        expect(attempts.some((x) => x.owner === "engine-a")).toBe(true);
      }
      expect((await sample()).running).toBe(0);
    } finally {
      sampling = false;
      await sampled.catch(() => {});
      await sampler.end();
      for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await producer.stop();
      await store.close();
    }
  });
});
