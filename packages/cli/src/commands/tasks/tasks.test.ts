import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Task, TaskEvent, TaskPage } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunReport } from "../../execution.js";
import { EXAMPLES, parseJson, runCli, tempDir } from "../../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const cli = (...args: string[]) => runCli(args, { cwd: dir });

describe("apflow tasks copy: re-running only the failed part", () => {
  it("copies the failed task with its dependents; the copy runs only them and keeps completed results", async () => {
    const failed = parseJson<RunReport>(await cli("run", join(EXAMPLES, "failing.json"), "--json"));
    const original = failed.trees[0]?.tasks as Task[];
    const byName = new Map(original.map((t) => [t.name, t]));
    const disk = byName.get("data-disk") as Task;
    expect(disk.status).toBe("failed");

    // Fix the cause, then copy the failed task and run the copy.
    mkdirSync(join(dir, "apflow-data"));
    const rerun = await cli("tasks", "copy", disk.id, "--run", "--json");
    expect(rerun.code).toBe(0);
    const copy = parseJson<RunReport>(rerun).trees[0] as RunReport["trees"][number];
    expect(copy.status).toBe("completed");
    expect(copy.rootId).not.toBe(failed.trees[0]?.rootId);

    // Every copied task points at its original.
    const originals = new Map(original.map((t) => [t.id, t]));
    for (const t of copy.tasks) expect(originals.get(t.originalTaskId as string)?.name).toBe(t.name);

    // Which tasks ran in the copy: its events say, and completed tasks kept their original results.
    const events = parseJson<TaskEvent[]>(await cli("tasks", "events", copy.rootId, "--json"));
    const nameOf = new Map(copy.tasks.map((t) => [t.id, t.name]));
    const started = events.filter((e) => e.type === "task.started").map((e) => nameOf.get(e.taskId));
    expect(started.sort()).toEqual(["data-disk", "data-volume", "nightly-report"]);
    const hostFacts = copy.tasks.find((t) => t.name === "host-facts") as Task;
    const originalHostFacts = byName.get("host-facts") as Task;
    expect(hostFacts.result).toEqual(originalHostFacts.result);
    expect(hostFacts.completedAt).toBe(originalHostFacts.completedAt);
    expect(hostFacts.attempt).toBe(originalHostFacts.attempt);
    // The cpu and memory leaves are not needed by the re-run, so they are not copied at all.
    expect(copy.tasks.map((t) => t.name).sort()).toEqual(["data-disk", "data-volume", "host-facts", "nightly-report"]);

    // The original tree is untouched.
    const after = parseJson<Task>(await cli("tasks", "get", disk.id, "--json"));
    expect(after.status).toBe("failed");
  });

  it("copy without --run stores a pending copy that tasks execute runs", async () => {
    const failed = parseJson<RunReport>(await cli("run", join(EXAMPLES, "failing.json"), "--json"));
    const disk = failed.trees[0]?.tasks.find((t) => t.name === "data-disk") as Task;
    // Mode full copies the whole tree; what the failed task does not touch comes as completed.
    const copied = parseJson<Task[]>(await cli("tasks", "copy", disk.id, "--mode", "full", "--json"));
    expect(copied).toHaveLength(6);
    const copyRoot = copied.find((t) => t.parentId === null) as Task;
    expect(copyRoot.status).toBe("pending");
    expect(copied.find((t) => t.name === "cpu")?.status).toBe("completed");

    mkdirSync(join(dir, "apflow-data"));
    const r = await cli("tasks", "execute", copyRoot.id);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain("1 tree: 1 completed");
  });

  it("tasks execute on a failed tree re-runs it in place", async () => {
    const failed = parseJson<RunReport>(await cli("run", join(EXAMPLES, "failing.json"), "--json"));
    const root = failed.trees[0]?.rootId as string;
    mkdirSync(join(dir, "apflow-data"));
    const r = await cli("tasks", "execute", root, "--json");
    expect(r.code).toBe(0);
    const tree = parseJson<RunReport>(r).trees[0] as RunReport["trees"][number];
    expect(tree.tasks.every((t) => t.status === "completed")).toBe(true);
    // cpu ran once (first run only); data-disk twice.
    expect(tree.tasks.find((t) => t.name === "cpu")?.attempt).toBe(1);
    expect(tree.tasks.find((t) => t.name === "data-disk")?.attempt).toBe(2);
  });
});

describe("apflow tasks: reads with --json and writes", () => {
  it("every read command's --json output parses and agrees with the store", async () => {
    const run = parseJson<RunReport>(await cli("run", join(EXAMPLES, "hello-world.json"), "--json"));
    const rootId = run.trees[0]?.rootId as string;
    const childId = run.trees[0]?.tasks.find((t) => t.name === "cpu")?.id as string;

    const list = parseJson<TaskPage>(await cli("tasks", "list", "--json"));
    expect(list.total).toBe(5);
    const roots = parseJson<TaskPage>(await cli("tasks", "list", "--roots", "--json"));
    expect(roots.tasks.map((t) => t.id)).toEqual([rootId]);
    expect(parseJson<TaskPage>(await cli("tasks", "list", "--status", "failed", "--json")).total).toBe(0);
    expect(parseJson<Task>(await cli("tasks", "get", rootId, "--json")).name).toBe("system-report");
    expect(parseJson<Task[]>(await cli("tasks", "tree", rootId, "--json"))).toHaveLength(5);
    expect(parseJson<Task[]>(await cli("tasks", "tree", childId, "--json")).map((t) => t.name)).toEqual(["cpu"]);
    expect(parseJson<Task[]>(await cli("tasks", "children", rootId, "--json"))).toHaveLength(4);
    const status = parseJson<Array<{ id: string; status: string }>>(
      await cli("tasks", "status", rootId, childId, "--json"),
    );
    expect(status.map((s) => s.status)).toEqual(["completed", "completed"]);
    expect(parseJson<Record<string, number>>(await cli("tasks", "count", "--json"))).toMatchObject({
      completed: 5,
      total: 5,
    });
    const events = parseJson<TaskEvent[]>(await cli("tasks", "events", rootId, "--json"));
    expect(events.at(-1)?.type).toBe("tree.finished");
    const executors = parseJson<Array<{ id: string }>>(await cli("executors", "list", "--json"));
    expect(executors.map((e) => e.id)).toEqual(expect.arrayContaining(["aggregate_results", "command", "system_info"]));
    const config = parseJson<{ mode: string; database: string }>(await cli("config", "show", "--json"));
    expect(config.mode).toBe("local");
    expect(config.database).toContain(join(dir, ".apflow", "apflow.db"));
  });

  it("human output: tree, list and get", async () => {
    const run = parseJson<RunReport>(await cli("run", join(EXAMPLES, "hello-world.json"), "--json"));
    const rootId = run.trees[0]?.rootId as string;
    const tree = await cli("tasks", "tree", rootId, "--results");
    expect(tree.stdout).toMatch(/^✔ system-report/m);
    expect(tree.stdout).toMatch(/→ \{"results":\{"cpu":/);
    const list = await cli("tasks", "list", "--roots");
    expect(list.stdout).toMatch(/^ID +NAME +STATUS/m);
    expect(list.stdout).toContain("1-1 of 1");
    const get = await cli("tasks", "get", rootId);
    expect(get.stdout).toMatch(/^status +completed$/m);
  });

  it("create, update, cancel and delete", async () => {
    writeFileSync(
      join(dir, "tree.json"),
      JSON.stringify({
        tasks: [
          { name: "later", params: { executorId: "aggregate_results" }, dependencies: ["step"] },
          { name: "step", parentId: "later" },
        ],
      }),
    );
    const created = parseJson<Task[][]>(await cli("tasks", "create", "tree.json", "--json"));
    const root = created[0]?.find((t) => t.parentId === null) as Task;
    expect(root.status).toBe("pending");

    const updated = parseJson<Task>(
      await cli(
        "tasks",
        "update",
        root.id,
        "--name",
        "renamed",
        "--priority",
        "0",
        "--metadata",
        '{"team":"ops"}',
        "--json",
      ),
    );
    expect(updated).toMatchObject({ name: "renamed", priority: 0, metadata: { team: "ops" } });
    const badUpdate = await cli("tasks", "update", root.id, "--inputs", "[1]");
    expect(badUpdate.code).toBe(2);
    expect(badUpdate.stderr).toContain("--inputs must be a JSON object");

    const cancelled = parseJson<Array<{ cancelled: string[] }>>(await cli("tasks", "cancel", root.id, "--json"));
    expect(cancelled[0]?.cancelled).toHaveLength(2);
    expect(parseJson<Task>(await cli("tasks", "get", root.id, "--json")).status).toBe("cancelled");

    expect(parseJson<{ deleted: string[] }>(await cli("tasks", "delete", root.id, "--json")).deleted).toHaveLength(2);
    const gone = await cli("tasks", "get", root.id);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toContain(`task not found: ${root.id}`);
  });

  it("tasks watch shows a tree that is not running and exits by its status", async () => {
    const run = parseJson<RunReport>(await cli("run", join(EXAMPLES, "failing.json"), "--json"));
    const r = await cli("tasks", "watch", run.trees[0]?.rootId as string);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("is not running");
    expect(r.stdout).toMatch(/✖ data-disk/);
  });
});
