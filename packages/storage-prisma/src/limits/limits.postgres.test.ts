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

  it("engines in separate processes never exceed a global limit of 2, and one killed with SIGKILL while holding slots leaks none", {
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
      // Two engines share the queue: together they never run more than the global 2.
      const a = startEngine(url, "engine-a");
      const b = startEngine(url, "engine-b");
      children.push(a.child, b.child);
      await Promise.all([a.started, b.started]);
      for (const root of roots) await producer.execute(root);
      await waitFor(
        async () => ((await store.countByStatus({})).completed === TREES ? true : undefined),
        "the first trees",
      );
      b.child.kill("SIGKILL");

      // A takes two tasks it hangs on (the whole global limit), then dies holding them.
      const hung: string[] = [];
      for (let i = 0; i < 2; i++) {
        const [root] = await producer.createTree([
          { name: `hang${i}`, params: { executorId: "sleepy" }, inputs: { hang: true } },
        ]);
        hung.push((root as { id: string }).id);
      }
      const rest: string[] = [];
      for (let i = 0; i < 4; i++) {
        const [root] = await producer.createTree([{ name: `after${i}`, params: { executorId: "sleepy" } }]);
        rest.push((root as { id: string }).id);
      }
      for (const root of hung) await producer.execute(root);
      await waitFor(async () => ((await sample()).heldByA === 2 ? true : undefined), "engine-a to hold both slots");
      for (const root of rest) await producer.execute(root);
      const c = startEngine(url, "engine-c");
      children.push(c.child);
      await c.started;
      const exited = new Promise((resolve) => a.child.once("exit", resolve));
      a.child.kill("SIGKILL");
      await exited;

      // C finishes everything, A's two after their leases lapse.
      await waitFor(async () => {
        const counts = await store.countByStatus({});
        return counts.completed === TREES + 6 ? true : undefined;
      }, "every task completed");
      sampling = false;
      await sampled;

      expect(Math.max(...samples)).toBeLessThanOrEqual(2);
      expect(Math.max(...samples)).toBe(2);
      for (const id of hung) {
        const attempts = await store.getAttempts(id);
        expect(attempts.map((x) => x.owner)).toEqual(["engine-a", "engine-c"]);
        expect(attempts.at(-1)?.status).toBe("completed");
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
