import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { Engine, Registry, silentLogger } from "@aipartnerupflow/core";
import { createPrismaStore } from "@aipartnerupflow/storage-prisma";
import { afterAll, describe, expect, it } from "vitest";
import { stdioPlugin } from "../index.js";
import { waitFor } from "../testing/context.js";
import { processAlive } from "./group.js";
import { reapOrphanedGroup, recordGroup } from "./orphans.js";

const here = dirname(fileURLToPath(import.meta.url));
const packageRoot = join(here, "..", "..");
const dir = mkdtempSync(join(tmpdir(), "apflow-orphans-"));
const children: ChildProcess[] = [];
afterAll(() => {
  for (const child of children) child.kill("SIGKILL");
  rmSync(dir, { recursive: true, force: true });
});

/** A detached `sleep` leading its own group, as the command executor spawns programs. */
function sleeper(seconds: string): number {
  const child = spawn("sleep", [seconds], { detached: true, stdio: "ignore" });
  children.push(child);
  child.unref();
  return child.pid as number;
}

/** Pids of live `sleep <seconds>` processes (the marker value makes them this test's own). */
function sleepsOf(seconds: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, "utf8").split("\0");
      if (argv[0]?.endsWith("sleep") && argv[1] === seconds && processAlive(Number(entry))) pids.push(Number(entry));
    } catch {}
  }
  return pids;
}

describe("orphaned process groups", () => {
  it("kills the recorded group when it still runs, and nothing when its pid now names another process", async () => {
    const pid = sleeper("61.101");
    await waitFor(() => sleepsOf("61.101").length === 1, "the sleeper");
    const record = recordGroup(pid);
    expect(record?.commandGroup.pgid).toBe(pid);

    const reused = { commandGroup: { ...record!.commandGroup, startTime: record!.commandGroup.startTime + 1 } };
    expect(await reapOrphanedGroup(reused, silentLogger)).toBe("reused");
    const otherHost = { commandGroup: { ...record!.commandGroup, host: "elsewhere" } };
    expect(await reapOrphanedGroup(otherHost, silentLogger)).toBe("other_host");
    expect(processAlive(pid)).toBe(true);

    expect(await reapOrphanedGroup(record!, silentLogger)).toBe("killed");
    expect(processAlive(pid)).toBe(false);
    expect(await reapOrphanedGroup(record!, silentLogger)).toBe("gone");
    expect(await reapOrphanedGroup({ not: "a record" }, silentLogger)).toBe("none");
    expect(await reapOrphanedGroup(null, silentLogger)).toBe("none");
  });

  it("after a SIGKILL of the process running them, the node taking the tasks over kills the orphaned commands first", async () => {
    const marker = "61.202";
    const path = join(dir, "orphans.db");
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(here, "..", "testing", "orphan-child.ts"), path, marker, "10"],
      { cwd: packageRoot, stdio: ["ignore", "pipe", "inherit"] },
    );
    children.push(child);
    let recorded = 0;
    child.stdout?.on("data", (chunk: Buffer) => {
      recorded += chunk.toString().split("checkpoint").length - 1;
    });
    // Every run started and recorded its group: then kill the process that ran them.
    await waitFor(() => sleepsOf(marker).length === 10 && recorded >= 10, "ten recorded commands", 60_000);
    const orphans = sleepsOf(marker);
    child.kill("SIGKILL");
    await new Promise((resolve) => child.once("exit", resolve));
    // The defect: nothing stops the commands of a killed process.
    expect(orphans.every(processAlive)).toBe(true);

    const store = await createPrismaStore({ url: `file:${path}` });
    const registry = new Registry();
    await registry.use(stdioPlugin, { command: { enabled: true, allow: ["sleep"] } });
    const engine = new Engine({ store, registry, concurrency: 16, leaseMs: 1000, pollIntervalMs: 100 });
    await engine.start();
    try {
      // The takeover re-runs each task once its lease expired, killing the orphan first.
      await waitFor(() => orphans.every((pid) => !processAlive(pid)), "the orphans to be killed", 30_000);
      await waitFor(() => sleepsOf(marker).length === 10, "the ten re-runs", 30_000);
      expect(sleepsOf(marker).some((pid) => orphans.includes(pid))).toBe(false);
      await engine.cancel("orphan-root");
      await waitFor(() => sleepsOf(marker).length === 0, "the cancelled re-runs to stop", 30_000);
    } finally {
      await engine.stop({ graceMs: 1000 });
      await store.close();
    }
  }, 120_000);
});
