import path from "node:path";
import { Engine, MemoryStore, Registry, type Task, type TaskEvent } from "@aipartnerupflow/core";
import { afterEach, describe, expect, it } from "vitest";
import { processAlive } from "./command/group.js";
import { stdioPlugin } from "./index.js";
import { waitFor } from "./testing/context.js";
import type { CommandResult, StdioPluginOptions, SystemInfoResult } from "./types.js";

/** The executors inside a real tree: engine, memory store, registry with the plugin. */
const engines: Engine[] = [];
async function makeEngine(options: StdioPluginOptions = {}, engineOptions: { demo?: boolean } = {}): Promise<Engine> {
  const registry = new Registry();
  await registry.use(stdioPlugin, options);
  const engine = new Engine({
    store: new MemoryStore(),
    registry,
    pollIntervalMs: 50,
    cancelGraceMs: 10_000,
    ...engineOptions,
  });
  engines.push(engine);
  return engine;
}
afterEach(async () => {
  await Promise.all(engines.splice(0).map((e) => e.stop({ graceMs: 1000 })));
});

const enabled: StdioPluginOptions = {
  command: {
    enabled: true,
    allow: ["echo", "node"],
    searchPath: [path.dirname(process.execPath), "/usr/local/bin", "/usr/bin", "/bin"],
    killGraceMs: 300,
  },
};
const byName = (tasks: Task[], name: string): Task => {
  const task = tasks.find((t) => t.name === name);
  if (!task) throw new Error(`no task ${name}`);
  return task;
};
const forker = `
const { spawn } = require("node:child_process");
const g = spawn(process.execPath, ["-e", "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: "ignore" });
console.log("grandchild " + g.pid);
setInterval(() => {}, 1000);
`;

/** Read an execution's events until one matches. */
async function eventMatching(events: AsyncGenerator<TaskEvent>, match: (e: TaskEvent) => boolean): Promise<TaskEvent> {
  for await (const e of events) if (match(e)) return e;
  throw new Error("the execution ended before the expected event");
}

describe("ext-stdio inside a real tree", () => {
  it("runs command and system_info and aggregates their results", async () => {
    const engine = await makeEngine(enabled);
    const outcome = await engine.runTree([
      { id: "root", name: "report", params: { executorId: "aggregate_results" }, dependencies: ["greet", "machine"] },
      {
        id: "greet",
        name: "greet",
        parentId: "root",
        params: { executorId: "command" },
        inputs: { command: ["echo", "hi", "$(id)"] },
      },
      {
        id: "machine",
        name: "machine",
        parentId: "root",
        params: { executorId: "system_info" },
        inputs: { resource: "memory" },
      },
    ]);
    expect(outcome.status).toBe("completed");
    const greet = byName(outcome.tasks, "greet").result as unknown as CommandResult;
    expect(greet).toMatchObject({ exitCode: 0, stdout: "hi $(id)\n", truncated: false });
    const machine = byName(outcome.tasks, "machine").result as unknown as SystemInfoResult;
    expect(machine.memory?.totalBytes).toBeGreaterThan(0);
    expect(byName(outcome.tasks, "report").result).toMatchObject({ count: 2 });
  });

  it("streams output lines as persisted progress events", async () => {
    const engine = await makeEngine(enabled);
    const [root] = await engine.createTree([
      {
        name: "lines",
        params: { executorId: "command" },
        inputs: { command: ["node", "-e", "console.log('alpha'); console.log('beta')"] },
      },
    ]);
    const handle = await engine.execute((root as Task).id);
    const outcome = await handle.done;
    expect(outcome.status).toBe("completed");
    const messages: string[] = [];
    for await (const e of handle.events()) if (e.type === "task.progress" && e.message) messages.push(e.message);
    expect(messages).toEqual(["alpha", "beta"]);
  });

  it("fails a non-zero exit with COMMAND_FAILED and fails its dependents", async () => {
    const engine = await makeEngine(enabled);
    const outcome = await engine.runTree([
      { id: "root", name: "root", params: { executorId: "aggregate_results" }, dependencies: ["bad"] },
      {
        id: "bad",
        name: "bad",
        parentId: "root",
        params: { executorId: "command" },
        inputs: { command: ["node", "-e", "console.error('nope'); process.exit(4)"] },
      },
    ]);
    expect(outcome.status).toBe("failed");
    const bad = byName(outcome.tasks, "bad");
    expect(bad.error).toMatchObject({ code: "COMMAND_FAILED", details: { exitCode: 4 } });
    expect(bad.error?.details).toMatchObject({ stderrTail: expect.stringContaining("nope") });
    expect(byName(outcome.tasks, "root").error?.code).toBe("DEPENDENCY_FAILED");
  });

  it("does not retry a refusal, whatever the retry policy", async () => {
    const engine = await makeEngine({});
    const outcome = await engine.runTree([
      {
        name: "refused",
        params: { executorId: "command" },
        inputs: { command: ["echo", "hi"] },
        retry: { maxAttempts: 3, backoff: { type: "fixed", delayMs: 10 } },
      },
    ]);
    const task = outcome.tasks[0] as Task;
    expect(task.status).toBe("failed");
    expect(task.error?.code).toBe("COMMAND_DISABLED");
    expect(task.attempt).toBe(1);
  });

  it("rejects a tree whose command inputs do not match the schema, before anything runs", async () => {
    const engine = await makeEngine(enabled);
    await expect(
      engine.runTree([{ name: "bad", params: { executorId: "command" }, inputs: { command: "echo hi" } }]),
    ).rejects.toThrow(/tasks\[0\]\.inputs\.command/);
  });

  it("cancels a running command: the task is cancelled, keeps its partial output, and the grandchild dies", async () => {
    const engine = await makeEngine(enabled);
    const [root] = await engine.createTree([
      { name: "forever", params: { executorId: "command" }, inputs: { command: ["node", "-e", forker] } },
    ]);
    const handle = await engine.execute((root as Task).id);
    const event = await eventMatching(
      handle.events(),
      (e) => e.type === "task.progress" && (e.message ?? "").startsWith("grandchild "),
    );
    const grandchild = Number(event.message?.split(" ")[1]);
    expect(processAlive(grandchild)).toBe(true);
    await engine.cancel((root as Task).id);
    const outcome = await handle.done;
    expect(outcome.status).toBe("cancelled");
    const task = outcome.tasks[0] as Task;
    expect(task.status).toBe("cancelled");
    expect(task.result).toMatchObject({ stdout: `${event.message}\n` });
    await waitFor(() => !processAlive(grandchild), "the grandchild to die");
  });

  it("kills the process group when the engine's task timeout fires", async () => {
    const engine = await makeEngine(enabled);
    const [root] = await engine.createTree([
      { name: "slow", params: { executorId: "command", timeoutMs: 5000 }, inputs: { command: ["node", "-e", forker] } },
    ]);
    const handle = await engine.execute((root as Task).id);
    const event = await eventMatching(
      handle.events(),
      (e) => e.type === "task.progress" && (e.message ?? "").startsWith("grandchild "),
    );
    const grandchild = Number(event.message?.split(" ")[1]);
    const outcome = await handle.done;
    expect((outcome.tasks[0] as Task).error?.code).toBe("TIMEOUT");
    await waitFor(() => !processAlive(grandchild), "the grandchild to die");
  });

  it("shows the declared demo results in demo mode, without running anything", async () => {
    const engine = await makeEngine({}, { demo: true });
    const outcome = await engine.runTree([
      { id: "root", name: "root", params: { executorId: "command" }, inputs: { command: ["rm", "-rf", "/"] } },
      {
        id: "info",
        name: "info",
        parentId: "root",
        params: { executorId: "system_info" },
        inputs: { resource: "cpu" },
      },
    ]);
    expect(outcome.status).toBe("completed");
    expect(byName(outcome.tasks, "root").result).toMatchObject({
      exitCode: 0,
      stdout: '[demo] would run: ["rm","-rf","/"]\n',
    });
    expect(Object.keys(byName(outcome.tasks, "info").result as object).sort()).toEqual(["collectedAt", "cpu"]);
  });
});
