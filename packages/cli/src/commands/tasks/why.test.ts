import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { ApflowClient, createApp, startServer } from "@aipartnerupflow/api-a2a";
import { Engine, MemoryStore, Registry, type Task, TaskFailure } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunReport } from "../../execution.js";
import { EXAMPLES, parseJson, runCli, tempDir } from "../../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

const cli = (...args: string[]) => runCli(args, { cwd: dir });

describe("apflow tasks get: the attempt history", () => {
  it("shows a table of attempts (attempt, owner, start, end, error) and JSON carries them", async () => {
    const failed = parseJson<RunReport>(await cli("run", join(EXAMPLES, "failing.json"), "--json"));
    const disk = failed.trees[0]?.tasks.find((t) => t.name === "data-disk") as Task;
    const shown = await cli("tasks", "get", disk.id);
    expect(shown.code).toBe(0);
    const lines = shown.stdout.split("\n");
    const header = lines.findIndex((l) => l.startsWith("ATTEMPT"));
    expect(header).toBeGreaterThan(0);
    expect(lines[header]?.split(/\s{2,}/)).toEqual(["ATTEMPT", "STATUS", "OWNER", "START", "END", "ERROR"]);
    const row = lines[header + 1] as string;
    expect(row).toMatch(/^1\s+failed\s+\S+/);
    expect(row).toContain("SYSTEM_INFO_DISK_UNAVAILABLE");
    expect(row).toContain(disk.startedAt?.slice(0, 10));
    const json = parseJson<Task & { attempts: Array<{ attempt: number; owner: string }>; waiting: null }>(
      await cli("tasks", "get", disk.id, "--json"),
    );
    expect(json.status).toBe("failed");
    expect(json.waiting).toBeNull();
    expect(json.attempts).toHaveLength(1);
    expect(json.attempts[0]?.owner).toBeTruthy();
  });
});

describe("apflow tasks why (local store)", () => {
  it("a created, never executed tree: every task is not_executing; a finished task is not waiting", async () => {
    const file = join(dir, "tree.json");
    writeFileSync(
      file,
      JSON.stringify([
        { name: "top", params: { executorId: "aggregate_results" }, dependencies: ["leaf"] },
        { name: "leaf", parentId: "top", params: { executorId: "system_info" }, inputs: { resource: "cpu" } },
      ]),
    );
    const [tree] = parseJson<Task[][]>(await cli("tasks", "create", file, "--json"));
    const top = (tree as Task[]).find((t) => t.name === "top") as Task;
    const why = await cli("tasks", "why", top.id);
    expect(why.code).toBe(0);
    expect(why.stdout).toContain("top is waiting: not_executing since");
    expect(why.stdout).toContain(`apflow tasks execute ${top.rootId}`);
    const json = parseJson<{ waiting: { reason: string; since: string } }>(await cli("tasks", "why", top.id, "--json"));
    expect(json.waiting.reason).toBe("not_executing");
    expect(json.waiting.since).toBe(top.createdAt);

    const treeView = await cli("tasks", "tree", top.id);
    expect(treeView.stdout).toContain("waiting: not_executing");

    const done = parseJson<RunReport>(await cli("run", join(EXAMPLES, "hello-world.json"), "--json"));
    const rootId = done.trees[0]?.rootId as string;
    const finished = await cli("tasks", "why", rootId);
    expect(finished.stdout).toContain("is completed: it is not waiting");

    const stats = await cli("queue", "stats");
    expect(stats.code).toBe(0);
    expect(stats.stdout).toContain("ready 0, oldest ready -, delayed 0");
    const statsJson = parseJson<{ counts: Record<string, number>; queue: { ready: number } }>(
      await cli("queue", "stats", "--json"),
    );
    expect(statsJson.counts.pending).toBe(2);
    expect(statsJson.queue.ready).toBe(0);
  });
});

describe("apflow tasks why / queue stats / tasks tree against a server", () => {
  it("names the reason of each waiting task while the only worker slot is busy", async () => {
    const registry = new Registry();
    registry.registerExecutor({
      id: "hold",
      description: "runs until cancelled",
      cancelable: true,
      execute: (_inputs, ctx) =>
        new Promise((resolve) => ctx.signal.addEventListener("abort", () => resolve({ aborted: true }))),
    });
    registry.registerExecutor({
      id: "nope",
      description: "fails",
      execute: () => {
        throw new TaskFailure("NOPE", "no", { retryable: false });
      },
    });
    const engine = new Engine({
      store: new MemoryStore(),
      registry,
      concurrency: 1,
      pollIntervalMs: 20,
      cancelGraceMs: 200,
    });
    const server = await startServer({ app: createApp({ engine }), port: 0 });
    const client = new ApflowClient({ url: server.url });
    try {
      const created = await client.call<{ rootId: string; tasks: Task[] }>("tasks.create", {
        tasks: [
          { name: "root", dependencies: ["a", "b", "c"] },
          { name: "a", parentId: "root", params: { executorId: "hold" } },
          { name: "b", parentId: "root", params: { executorId: "hold" } },
          { name: "c", parentId: "root", params: { executorId: "hold" }, dependencies: ["a", "b"] },
        ],
      });
      const id = Object.fromEntries(created.tasks.map((t) => [t.name, t.id])) as Record<string, string>;
      await client.call("tasks.execute", { taskId: created.rootId });
      let running: Task | undefined;
      while (!running) {
        const { tasks } = await client.call<{ tasks: Task[] }>("tasks.tree", {
          taskId: created.rootId,
          format: "flat",
        });
        running = tasks.find((t) => t.status === "in_progress");
        if (!running) await new Promise((r) => setTimeout(r, 10));
      }
      const other = running.name === "a" ? "b" : "a";

      const queued = await cli("tasks", "why", id[other] as string, "--server", server.url);
      expect(queued.code).toBe(0);
      expect(queued.stdout).toContain(`${other} is waiting: queued since`);
      expect(queued.stdout).toContain("waiting for a free worker slot");
      const deps = await cli("tasks", "why", id.c as string, "--server", server.url);
      expect(deps.stdout).toContain("c is waiting: dependencies since");
      expect(deps.stdout).toContain("waiting for 2 dependencies");
      expect(deps.stdout).toMatch(/\n {2}a {2}(in_progress|pending)/);

      const tree = await cli("tasks", "tree", created.rootId, "--server", server.url);
      expect(tree.stdout).toContain("waiting: queued");
      expect(tree.stdout).toContain("waiting: dependencies");

      const stats = await cli("queue", "stats", "--server", server.url);
      expect(stats.code).toBe(0);
      expect(stats.stdout).toMatch(/ready 1, oldest ready \S+ \(since /);
      expect(stats.stdout).toMatch(/\nhold\s+1\s+\S+/);
      expect(stats.stdout).toContain("since the server started");
      expect(stats.stdout).toMatch(/\nclaims\s+1\n/);
      const json = parseJson<{
        queue: { ready: number; byExecutor: Array<{ executorId: string }> };
        events: { claims: number };
      }>(await cli("queue", "stats", "--json", "--server", server.url));
      expect(json.queue.ready).toBe(1);
      expect(json.queue.byExecutor.map((g) => g.executorId)).toEqual(["hold"]);
      expect(json.events.claims).toBe(1);
      await client.call("tasks.cancel", { taskId: created.rootId });
    } finally {
      await server.close();
      await engine.stop({ graceMs: 0 });
    }
  });
});
