import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Task, TaskEvent, TaskPage } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
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

/** Wait until the `gate` task runs, and return its root id. */
async function runningRoot(): Promise<string> {
  return eventually(async () => {
    const r = await runCli(["tasks", "list", "--status", "in_progress", "--json"], { cwd: dir, env });
    if (r.code !== 0) return undefined;
    return parseJson<TaskPage>(r).tasks.find((t) => t.name === "gate")?.rootId;
  });
}

describe("following and cancelling a tree that runs in another process", () => {
  it("tasks watch follows a running tree to its end", async () => {
    gatedTree();
    const run = spawnCli(["run", "gated.json", "--json"], { cwd: dir, env });
    const rootId = await runningRoot();
    const watch = spawnCli(["tasks", "watch", rootId, "--json"], { cwd: dir, env });
    // The watcher has subscribed once it printed the replayed start of the execution.
    await eventually(async () => (watch.stdout().includes('"task.started"') ? true : undefined));
    writeFileSync(join(dir, "go"), "");

    const watched = await watch.done;
    expect(watched.code).toBe(0);
    const events = watched.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l) as TaskEvent);
    expect(events.at(-1)).toMatchObject({ type: "tree.finished", rootId, status: "completed" });
    expect(events.some((e) => e.type === "task.completed" && e.rootId === rootId)).toBe(true);

    const ran = await run.done;
    expect(ran.code).toBe(0);
    const gate = parseJson<RunReport>(ran).trees[0]?.tasks.find((t) => t.name === "gate") as Task;
    expect((gate.result as { stdout: string }).stdout.trim()).toBe("went");
  });

  it("tasks cancel from another process stops the run, which exits 1 with the tree cancelled", async () => {
    gatedTree();
    const run = spawnCli(["run", "gated.json", "--json"], { cwd: dir, env });
    const rootId = await runningRoot();
    const cancel = await runCli(["tasks", "cancel", rootId], { cwd: dir, env });
    expect(cancel.code).toBe(0);
    expect(cancel.stdout).toMatch(/1 running task asked to stop/);

    const ran = await run.done;
    expect(ran.code).toBe(1);
    const report = parseJson<RunReport>(ran);
    expect(report.status).toBe("cancelled");
    expect(report.trees[0]?.tasks.map((t) => [t.name, t.status]).sort()).toEqual([
      ["gate", "cancelled"],
      ["gate-root", "cancelled"],
    ]);
  });

  it("Ctrl-C during run cancels the tree and exits 1", async () => {
    gatedTree();
    const run = spawnCli(["run", "gated.json"], { cwd: dir, env });
    await runningRoot();
    run.kill("SIGINT");
    const ran = await run.done;
    expect(ran.code).toBe(1);
    expect(ran.stderr).toContain("cancelling");
    expect(ran.stdout).toMatch(/⊘ gate {2}cancelled/);
    expect(ran.stdout).toContain("1 tree: 0 completed, 1 not completed");
  });
});
