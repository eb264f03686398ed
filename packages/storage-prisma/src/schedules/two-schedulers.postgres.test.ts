import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine, Registry, Scheduler } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { createPrismaStore } from "../store/create.js";
import { postgresReachable, requirePostgresInCi, useMigratedTestDatabase } from "../test-support/postgres.js";

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, "..", "..");
const reachable = await postgresReachable();
requirePostgresInCi(reachable);

const RUNS = 6;

interface Line {
  by?: string;
  ready?: string;
  scheduleId?: string;
  fireAt?: string;
  rootId?: string;
}

function startChild(url: string, name: string): { child: ChildProcess; lines: Line[]; ready: Promise<void> } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(here, "..", "test-support", "scheduler-child.ts"), url, name],
    {
      cwd: packageRoot,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  const lines: Line[] = [];
  let buffer = "";
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      buffer += chunk.toString();
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = JSON.parse(buffer.slice(0, nl)) as Line;
        buffer = buffer.slice(nl + 1);
        lines.push(line);
        if (line.ready) resolve();
        nl = buffer.indexOf("\n");
      }
    });
    child.once("exit", (code, signal) => reject(new Error(`scheduler child ${name} exited early: ${code ?? signal}`)));
  });
  return { child, lines, ready };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.skipIf(!reachable)("two scheduler processes on one PostgreSQL", () => {
  const database = useMigratedTestDatabase();

  it("fire each time of an interval schedule exactly once", { timeout: 90_000 }, async () => {
    const store = await createPrismaStore({ url: database.url(), poolSize: 2 });
    const registry = new Registry();
    registry.registerExecutor({ id: "echo", execute: (inputs) => inputs });
    const engine = new Engine({ store, registry });
    const scheduler = new Scheduler({ engine });
    const children: ChildProcess[] = [];
    try {
      const a = startChild(database.url(), "a");
      const b = startChild(database.url(), "b");
      children.push(a.child, b.child);
      await Promise.all([a.ready, b.ready]);
      // Both processes are up before the first fire time; every second from then, RUNS times.
      const startAt = new Date(Math.ceil((Date.now() + 1500) / 1000) * 1000);
      const schedule = await scheduler.create({
        name: "every second",
        tasks: [{ name: "tick", params: { executorId: "echo" }, inputs: { n: 1 } }],
        trigger: { type: "interval", everyMs: 1000 },
        startAt: startAt.toISOString(),
        maxRuns: RUNS,
        catchUp: "all",
      });
      const runs = await waitFor(async () => {
        const { runs } = await scheduler.runs(schedule.id);
        return runs.length === RUNS && runs.every((r) => r.status === "completed") ? runs : undefined;
      }, `${RUNS} completed runs`);
      // One more fire time would be due by now: the schedule is over (maxRuns), nothing more fires.
      await new Promise((resolve) => setTimeout(resolve, 1200));
      for (const child of children) child.kill("SIGTERM");
      await Promise.all(children.map((c) => new Promise((resolve) => c.once("exit", resolve))));

      const expected = Array.from({ length: RUNS }, (_, i) => new Date(startAt.getTime() + i * 1000).toISOString());
      expect(runs.map((r) => r.fireAt).sort()).toEqual(expected);
      const fired = [...a.lines, ...b.lines].filter((l) => l.fireAt);
      // Every fire time fired by exactly one of the two processes.
      expect(fired.map((f) => f.fireAt).sort()).toEqual(expected);
      expect(new Set(fired.map((f) => f.rootId)).size).toBe(RUNS);
      for (const run of runs) expect(fired.find((f) => f.fireAt === run.fireAt)?.rootId).toBe(run.rootId);
      // One tree per fire time in the task store, each linked to the schedule.
      const roots = (await store.listTasks({ rootsOnly: true, limit: 100 })).tasks;
      expect(roots).toHaveLength(RUNS);
      expect(roots.map((r) => (r.metadata.schedule as { fireAt: string }).fireAt).sort()).toEqual(expected);
      console.log(
        `two schedulers: ${RUNS} fire times, fired by a: ${fired.filter((f) => f.by === "a").length}, by b: ${fired.filter((f) => f.by === "b").length}`,
      );
    } finally {
      for (const child of children) if (child.exitCode === null) child.kill("SIGKILL");
      await engine.stop({ graceMs: 0 });
      await store.close();
    }
  });

  it("a window missed while no scheduler ran follows catchUp: one fires only the latest time", {
    timeout: 60_000,
  }, async () => {
    const store = await createPrismaStore({ url: database.url(), poolSize: 2 });
    const registry = new Registry();
    registry.registerExecutor({ id: "echo", execute: (inputs) => inputs });
    const scheduler = new Scheduler({ engine: new Engine({ store, registry }) });
    let child: ChildProcess | undefined;
    try {
      // Ten fire times passed while nothing ran.
      const startAt = new Date(Math.floor(Date.now() / 1000) * 1000 - 10_000);
      const schedule = await scheduler.create({
        name: "missed",
        tasks: [{ name: "tick", params: { executorId: "echo" } }],
        trigger: { type: "interval", everyMs: 1000 },
        startAt: startAt.toISOString(),
        catchUp: "one",
      });
      const started = Date.now();
      const c = startChild(database.url(), "late");
      child = c.child;
      await c.ready;
      const [first] = await waitFor(async () => {
        const { runs } = await scheduler.runs(schedule.id);
        return runs.length > 0 ? runs.slice(-1) : undefined;
      }, "the first run");
      child.kill("SIGTERM");
      await new Promise((resolve) => child?.once("exit", resolve));
      // The oldest run is the latest missed time (or a later one), never startAt or the times after it.
      expect(Date.parse(first?.fireAt as string)).toBeGreaterThanOrEqual(Math.floor(started / 1000) * 1000 - 1000);
      const { runs } = await scheduler.runs(schedule.id);
      expect(runs.length).toBeLessThan(10);
    } finally {
      if (child && child.exitCode === null) child.kill("SIGKILL");
      await store.close();
    }
  });
});
