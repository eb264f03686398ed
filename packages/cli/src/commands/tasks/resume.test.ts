import { writeFileSync } from "node:fs";
import { hostname } from "node:os";
import { join } from "node:path";
import type { Task, TaskPage } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { holderMayBeAlive } from "../../backend/orphans.js";
import type { RunReport } from "../../execution.js";
import { eventually, parseJson, runCli, spawnCli, tempDir, writeGatedTree } from "../../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const env = { APFLOW_COMMAND_ENABLED: "1", APFLOW_COMMAND_ALLOW: "node" };

function gatedTree(): void {
  writeGatedTree(dir);
}

/** Start `apflow run`, wait until its gate task runs, then SIGKILL it. Returns the root id. */
async function killedRun(): Promise<string> {
  gatedTree();
  const run = spawnCli(["run", "gated.json", "--json"], { cwd: dir, env });
  const rootId = await eventually(async () => {
    const r = await runCli(["tasks", "list", "--status", "in_progress", "--json"], { cwd: dir, env });
    if (r.code !== 0) return undefined;
    return parseJson<TaskPage>(r).tasks.find((t) => t.name === "gate")?.rootId;
  });
  run.kill("SIGKILL");
  await run.done;
  return rootId;
}

describe("an execution whose `apflow run` was killed", () => {
  it("tasks execute resumes it instead of answering 'already executing' for ever", async () => {
    const rootId = await killedRun();
    const execute = spawnCli(["tasks", "execute", rootId, "--json"], { cwd: dir, env });
    await eventually(async () => (execute.stderr().includes("resuming execution") ? true : undefined));
    writeFileSync(join(dir, "go"), "");
    const done = await execute.done;
    expect(done.stderr).toContain("the process running it is gone");
    expect(done.code).toBe(0);
    const report = parseJson<RunReport>(done);
    expect(report.status).toBe("completed");
    const gate = report.trees[0]?.tasks.find((t) => t.name === "gate") as Task;
    expect(gate.status).toBe("completed");
    expect((gate.result as { stdout: string }).stdout.trim()).toBe("went");
  });

  it("tasks watch resumes it and follows it to its end instead of hanging", async () => {
    const rootId = await killedRun();
    const watch = spawnCli(["tasks", "watch", rootId, "--json"], { cwd: dir, env });
    await eventually(async () => (watch.stderr().includes("resuming execution") ? true : undefined));
    writeFileSync(join(dir, "go"), "");
    const done = await watch.done;
    expect(done.code).toBe(0);
    const last = JSON.parse(done.stdout.trim().split("\n").at(-1) as string);
    expect(last).toMatchObject({ type: "tree.finished", rootId, status: "completed" });
  });

  it("a running execution of a live process is left alone", async () => {
    gatedTree();
    const run = spawnCli(["run", "gated.json", "--json"], { cwd: dir, env });
    const rootId = await eventually(async () => {
      const r = await runCli(["tasks", "list", "--status", "in_progress", "--json"], { cwd: dir, env });
      if (r.code !== 0) return undefined;
      return parseJson<TaskPage>(r).tasks.find((t) => t.name === "gate")?.rootId;
    });
    const again = await runCli(["tasks", "execute", rootId], { cwd: dir, env });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toContain("already executing");
    writeFileSync(join(dir, "go"), "");
    expect((await run.done).code).toBe(0);
  });
});

describe("holderMayBeAlive", () => {
  it("is false only for a lease holder of this host whose pid is gone", () => {
    expect(holderMayBeAlive(`${hostname()}:${process.pid}:abc`)).toBe(true);
    expect(holderMayBeAlive(`${hostname()}:2147483646:abc`)).toBe(false);
    expect(holderMayBeAlive("another-host:2147483646:abc")).toBe(true);
    expect(holderMayBeAlive("custom-owner")).toBe(true);
    expect(holderMayBeAlive(null)).toBe(false);
  });
});
