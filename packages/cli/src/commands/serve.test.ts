import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join } from "node:path";
import type { Task, TaskPage } from "@aipartnerupflow/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { RunReport } from "../execution.js";
import { BIN, EXAMPLES, STACK_LINE, parseJson, runCli, startServe, tempDir } from "../test-util/cli.js";

let dir: string;
let cleanup: () => void;
beforeEach(() => ({ dir, cleanup } = tempDir()));
afterEach(() => cleanup());

describe("remote mode against apflow serve", () => {
  it("runs, lists and re-runs the failed part of a tree on the server", async () => {
    const server = await startServe({ cwd: dir });
    try {
      const env = { APFLOW_SERVER: server.url };
      const hello = await runCli(["run", join(EXAMPLES, "hello-world.json")], { cwd: dir, env });
      expect(hello.code).toBe(0);
      expect(hello.stdout).toMatch(/^✔ system-report {2}completed/m);

      const failed = await runCli(["run", join(EXAMPLES, "failing.json"), "--json"], { cwd: dir, env });
      expect(failed.code).toBe(1);
      const disk = parseJson<RunReport>(failed).trees[0]?.tasks.find((t) => t.name === "data-disk") as Task;
      expect(disk.error?.code).toBe("SYSTEM_INFO_DISK_UNAVAILABLE");

      mkdirSync(join(dir, "apflow-data"));
      const copy = await runCli(["tasks", "copy", disk.id, "--run", "--json"], { cwd: dir, env });
      expect(copy.code).toBe(0);
      const copied = parseJson<RunReport>(copy).trees[0]?.tasks as Task[];
      expect(copied.every((t) => t.status === "completed" && t.originalTaskId !== null)).toBe(true);

      const roots = parseJson<TaskPage>(await runCli(["tasks", "list", "--roots", "--json"], { cwd: dir, env }));
      expect(roots.total).toBe(3);
      const tree = await runCli(["tasks", "tree", disk.rootId, "--server", server.url], { cwd: dir });
      expect(tree.stdout).toMatch(/✖ data-disk {2}failed/);
      const missing = await runCli(["tasks", "get", "no-such-task"], { cwd: dir, env });
      expect(missing.code).toBe(2);
      expect(missing.stderr).toContain("no-such-task");
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("with auth on: no token is refused (exit 3), a token from token create works and scopes tasks to its user", async () => {
    const secret = "test-secret-that-is-long-enough-for-hs256";
    const server = await startServe({ cwd: dir, env: { APFLOW_JWT_SECRET: secret } });
    try {
      const anonymous = await runCli(["tasks", "list", "--server", server.url], { cwd: dir });
      expect(anonymous.code).toBe(3);
      expect(anonymous.stderr).toMatch(/refused the request.*APFLOW_TOKEN/);
      expect(anonymous.stderr).not.toMatch(STACK_LINE);

      const mint = async (sub: string) =>
        (
          await runCli(["token", "create", "--sub", sub, "--expires", "1h"], {
            cwd: dir,
            env: { APFLOW_JWT_SECRET: secret },
          })
        ).stdout.trim();
      const alice = { APFLOW_SERVER: server.url, APFLOW_TOKEN: await mint("alice") };
      const bob = { APFLOW_SERVER: server.url, APFLOW_TOKEN: await mint("bob") };
      const run = await runCli(["run", join(EXAMPLES, "hello-world.json"), "--json"], { cwd: dir, env: alice });
      expect(run.code).toBe(0);
      const rootId = parseJson<RunReport>(run).trees[0]?.rootId as string;
      expect(parseJson<TaskPage>(await runCli(["tasks", "list", "--json"], { cwd: dir, env: alice })).total).toBe(5);
      expect(parseJson<TaskPage>(await runCli(["tasks", "list", "--json"], { cwd: dir, env: bob })).total).toBe(0);
      const foreign = await runCli(["tasks", "get", rootId], { cwd: dir, env: bob });
      expect(foreign.code).toBe(2);
    } finally {
      await server.stop();
    }
  });

  it("refuses an unknown --placement before it listens, naming it", async () => {
    const r = await runCli(["serve", "--port", "0", "--placement", "spread"], { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--placement must be one of capability, round-robin, least-loaded, affinity/);
  });

  it("an unreachable server is exit code 3", async () => {
    const port = await freePort();
    const r = await runCli(["tasks", "list", "--server", `http://127.0.0.1:${port}`], { cwd: dir });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`cannot reach the server at http://127.0.0.1:${port}`);
  });
});

describe("apflow daemon", () => {
  // Runs before the directory is removed, also when a test times out: no daemon is left behind.
  afterEach(async () => {
    await runCli(["daemon", "stop"], { cwd: dir });
  });

  it("start, status, logs, stop", async () => {
    const port = String(await freePort());
    const start = await runCli(["daemon", "start", "--port", port], { cwd: dir });
    expect(start.stderr).toBe("");
    expect(start.code).toBe(0);
    expect(start.stdout).toMatch(new RegExp(`started: pid \\d+, http://127\\.0\\.0\\.1:${port}`));
    const again = await runCli(["daemon", "start", "--port", port], { cwd: dir });
    expect(again.stdout).toContain("already running");
    const status = parseJson<{ running: boolean; answering: boolean; url: string }>(
      await runCli(["daemon", "status", "--json"], { cwd: dir }),
    );
    expect(status).toMatchObject({ running: true, answering: true, url: `http://127.0.0.1:${port}` });
    const run = await runCli(["run", join(EXAMPLES, "hello-world.json"), "--server", status.url, "--no-live"], {
      cwd: dir,
    });
    expect(run.code).toBe(0);
    const logs = await runCli(["daemon", "logs", "-n", "200"], { cwd: dir });
    expect(logs.stdout).toContain('"path":"/tasks"');

    const stop = await runCli(["daemon", "stop"], { cwd: dir });
    expect(stop.stdout).toMatch(/stopped pid \d+/);
    const after = await runCli(["daemon", "status"], { cwd: dir });
    expect(after.code).toBe(1);
    expect(after.stdout).toContain("not running");
  });
});

describe("apflow mcp", () => {
  it("speaks MCP on stdio: initialize, then the task tools are listed and callable", async () => {
    // An executor that prints with console.log: on stdio that must not reach stdout (the protocol).
    writeFileSync(
      join(dir, "chatty.mjs"),
      `export default { name: "chatty", setup(registry) {
        registry.registerExecutor({ id: "chatty", execute: () => { console.log("chatty was here"); return "said"; } });
      } };`,
    );
    let stderr = "";
    const child = spawn(process.execPath, [BIN, "mcp"], {
      cwd: dir,
      env: { ...process.env, NO_COLOR: "1", APFLOW_PLUGINS: "./chatty.mjs" },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const replies = new Map<
      number,
      { result?: { tools?: Array<{ name: string }>; content?: Array<{ text: string }> } }
    >();
    let buffer = "";
    const waiters = new Map<number, () => void>();
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      buffer += d;
      for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
        const msg = JSON.parse(buffer.slice(0, nl)) as { id?: number };
        buffer = buffer.slice(nl + 1);
        if (typeof msg.id === "number") {
          replies.set(msg.id, msg as never);
          waiters.get(msg.id)?.();
        }
      }
    });
    const request = (id: number, method: string, params: unknown) =>
      new Promise<void>((resolve) => {
        waiters.set(id, resolve);
        child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", id, method, params })}\n`);
      });
    await request(1, "initialize", {
      protocolVersion: "2025-06-18",
      capabilities: {},
      clientInfo: { name: "test", version: "1" },
    });
    child.stdin.write(`${JSON.stringify({ jsonrpc: "2.0", method: "notifications/initialized" })}\n`);
    await request(2, "tools/list", {});
    const tools = replies.get(2)?.result?.tools?.map((t) => t.name) ?? [];
    expect(tools).toEqual(expect.arrayContaining(["create_tasks", "execute_task", "get_task_tree", "list_executors"]));
    await request(3, "tools/call", { name: "list_executors", arguments: {} });
    expect(replies.get(3)?.result?.content?.[0]?.text).toContain("system_info");
    child.stderr.setEncoding("utf8").on("data", (d: string) => {
      stderr += d;
    });
    await request(4, "tools/call", {
      name: "create_tasks",
      arguments: { tasks: [{ name: "talk", params: { executorId: "chatty" } }] },
    });
    const created = JSON.parse(replies.get(4)?.result?.content?.[0]?.text ?? "{}") as { rootId?: string };
    expect(created.rootId).toEqual(expect.any(String));
    await request(5, "tools/call", { name: "execute_task", arguments: { taskId: created.rootId } });
    expect(replies.get(5)?.result?.content?.[0]?.text).toContain("said");
    expect(stderr).toContain("chatty was here");
    const exited = new Promise<number | null>((r) => child.on("close", (code) => r(code)));
    child.stdin.end();
    expect(await exited).toBe(0);
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const address = s.address();
      const port = typeof address === "object" && address ? address.port : 0;
      s.close(() => resolve(port));
    });
  });
}
