import { type ChildProcess, spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine, isTerminal } from "@aipartnerupflow/core";
import { afterAll, describe, expect, it } from "vitest";
import { slowRegistry } from "../test-support/crash-child.js";
import { tempDir } from "../test-support/sqlite.js";
import { createPrismaStore } from "./create.js";

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, "..", "..");
const dir = tempDir("apflow-crash-");
afterAll(() => dir.remove());

const SIZE = 400;

function startChild(path: string): { child: ChildProcess; running: Promise<void> } {
  const child = spawn(
    process.execPath,
    ["--import", "tsx", join(here, "..", "test-support", "crash-child.ts"), path, String(SIZE)],
    { cwd: packageRoot, stdio: ["ignore", "pipe", "inherit"] },
  );
  const running = new Promise<void>((resolve, reject) => {
    child.stdout?.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("running")) resolve();
    });
    child.on("exit", (code, signal) => reject(new Error(`child exited early: ${code ?? signal}`)));
  });
  return { child, running };
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("crash safety on SQLite", () => {
  it("a tree interrupted by SIGKILL finishes in a new process: every task terminal, none lost, none completed twice", async () => {
    const path = dir.file("crash.db");
    const { child, running } = startChild(path);
    await running;

    const observer = await createPrismaStore({ url: `file:${path}` });
    // Kill while the tree is part-way: some tasks completed, others in flight.
    await waitFor(
      async () => ((await observer.countByStatus({ rootId: "crash-root" })).completed >= SIZE / 4 ? true : undefined),
      "progress",
    );
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    const atKill = await observer.countByStatus({ rootId: "crash-root" });
    expect(atKill.completed).toBeLessThan(SIZE);
    await observer.close();

    const store = await createPrismaStore({ url: `file:${path}` });
    const engine = new Engine({ store, registry: slowRegistry(), concurrency: 8, leaseMs: 1500, pollIntervalMs: 100 });
    await engine.start();
    const [execution] = await store.listExecutions({ rootId: "crash-root" });
    const finished = await waitFor(async () => {
      const e = await store.getExecution(execution?.id as string);
      return e && e.status !== "running" ? e : undefined;
    }, "the execution to finish");
    await engine.stop();

    expect(finished.status).toBe("completed");
    const tree = await store.getTree("crash-root");
    expect(tree).toHaveLength(SIZE);
    expect(tree.every((t) => isTerminal(t.status))).toBe(true);
    expect(tree.every((t) => t.status === "completed")).toBe(true);

    const events = await store.readEvents({ rootId: "crash-root", limit: 100_000 });
    const completions = new Map<string, number>();
    for (const e of events)
      if (e.type === "task.completed") completions.set(e.taskId, (completions.get(e.taskId) ?? 0) + 1);
    expect(completions.size).toBe(SIZE);
    expect([...completions.values()].every((n) => n === 1)).toBe(true);
    expect(events.filter((e) => e.type === "tree.finished")).toHaveLength(1);

    // Tasks in flight at the kill ran again: their lost attempt is recorded as LEASE_EXPIRED.
    const retried = events.filter((e) => e.type === "task.retrying").map((e) => e.taskId);
    if (atKill.in_progress > 0) expect(retried.length).toBeGreaterThan(0);
    for (const id of retried) {
      const attempts = await store.getAttempts(id);
      expect(attempts[0]?.error?.code).toBe("LEASE_EXPIRED");
      expect(attempts.at(-1)?.status).toBe("completed");
    }
    await store.close();
  }, 120_000);
});
