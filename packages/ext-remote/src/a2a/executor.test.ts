import { createApp, type ServerHandle, startServer } from "@aipartnerupflow/api-a2a";
import { Engine, MemoryStore, Registry, type Task, TaskFailure } from "@aipartnerupflow/core";
import { createExecutorContext } from "@aipartnerupflow/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveRemoteConfig } from "../config.js";
import { remotePlugin } from "../plugin.js";
import { executeHttp } from "../http/executor.js";
import { executeA2a } from "./executor.js";

/** The second server: a real aipartnerupflow app (api-a2a) on a free port, with its own engine. */
let remote: ServerHandle;
let remoteEngine: Engine;
const aborted: string[] = [];

function remoteRegistry(): Registry {
  const registry = new Registry();
  registry.registerExecutor({
    id: "echo",
    description: "returns its inputs",
    execute: (inputs) => ({ echoed: inputs }) as never,
  });
  registry.registerExecutor({
    id: "steps",
    description: "reports two progress messages, then returns",
    execute: async (_inputs, ctx) => {
      await ctx.reportProgress(0.5, "halfway there");
      await ctx.reportProgress(1, "all done");
      return { steps: 2 };
    },
  });
  registry.registerExecutor({
    id: "boom",
    description: "always fails",
    execute: () => {
      throw new TaskFailure("BOOM", "exploded on purpose", { retryable: false });
    },
  });
  registry.registerExecutor({
    id: "wait",
    description: "waits until aborted",
    cancelable: true,
    execute: (_inputs, ctx) =>
      new Promise((resolve) => {
        ctx.signal.addEventListener("abort", () => {
          aborted.push(ctx.task.id);
          resolve({ aborted: true });
        });
      }),
  });
  return registry;
}

beforeAll(async () => {
  remoteEngine = new Engine({
    store: new MemoryStore(),
    registry: remoteRegistry(),
    pollIntervalMs: 50,
    cancelGraceMs: 2000,
  });
  remote = await startServer({ app: createApp({ engine: remoteEngine }), port: 0, host: "127.0.0.1" });
});
afterAll(async () => {
  await remoteEngine.stop({ graceMs: 0 });
  await remote.close();
});

const allowed = () => resolveRemoteConfig({ allowHosts: [`127.0.0.1:${remote.port}`] }, {});

async function failure(promise: Promise<unknown>): Promise<TaskFailure> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(TaskFailure);
  return err as TaskFailure;
}

describe("a2a executor against a second aipartnerupflow server", () => {
  it("runs a sub-tree there and returns its outcome artifact as the result", async () => {
    const ctx = createExecutorContext();
    const result = await executeA2a(
      {
        agentUrl: remote.url,
        message: {
          data: {
            tasks: [
              { name: "r-root", params: { executorId: "aggregate_results" }, dependencies: ["r-a"] },
              { name: "r-a", parentId: "r-root", params: { executorId: "echo" }, inputs: { n: 7 } },
            ],
          },
        },
      },
      ctx,
      allowed(),
    );
    expect(result.state).toBe("completed");
    expect(result.remoteTaskId).toBeTruthy();
    // The remote root's result comes first (its `result` artifact); the whole tree is in `tree-result`.
    expect(result.data).toEqual({ results: { "r-a": { echoed: { n: 7 } } }, count: 1 });
    const treePart = result.artifacts.find((a) => a.artifactId === "tree-result")?.parts.find((p) => p.kind === "data");
    const tasks = (treePart as unknown as { data: { tasks: Array<{ name: string; status: string; result: unknown }> } })
      .data.tasks;
    expect(tasks.map((t) => [t.name, t.status])).toEqual([
      ["r-root", "completed"],
      ["r-a", "completed"],
    ]);
    expect(tasks[1]?.result).toEqual({ echoed: { n: 7 } });
    // The remote tree really ran on the second server.
    const root = await remoteEngine.store.getTask(result.remoteTaskId as string);
    expect(root?.status).toBe("completed");
  });

  it("turns the remote status updates into progress messages", async () => {
    const ctx = createExecutorContext();
    await executeA2a(
      { agentUrl: remote.url, message: { data: { tasks: [{ name: "stepper", params: { executorId: "steps" } }] } } },
      ctx,
      allowed(),
    );
    const messages = ctx.progress.map((p) => p.message);
    expect(messages.some((m) => m?.includes("task.progress") && m.includes("halfway there"))).toBe(true);
    expect(messages.some((m) => m?.includes("all done"))).toBe(true);
    expect(messages.some((m) => m?.startsWith("remote task.completed"))).toBe(true);
  });

  it("fails with A2A_REMOTE_FAILED when the remote tree fails, its outcome in details", async () => {
    const err = await failure(
      executeA2a(
        { agentUrl: remote.url, message: { data: { tasks: [{ name: "b", params: { executorId: "boom" } }] } } },
        createExecutorContext(),
        allowed(),
      ),
    );
    expect(err.code).toBe("A2A_REMOTE_FAILED");
    const details = err.details as {
      state: string;
      remoteTaskId: string;
      data: { tasks: Array<{ error: { code: string } }> };
    };
    expect(details.state).toBe("failed");
    expect(details.data.tasks[0]?.error.code).toBe("BOOM");
  });

  it("cancelling the calling task (in a real tree) cancels the remote task", async () => {
    const registry = new Registry();
    await registry.use(remotePlugin, { allowHosts: [`127.0.0.1:${remote.port}`] });
    const local = new Engine({ store: new MemoryStore(), registry, pollIntervalMs: 50, cancelGraceMs: 10_000 });
    try {
      await local.createTree([
        {
          id: "delegate",
          name: "delegate",
          params: { executorId: "a2a" },
          inputs: {
            agentUrl: remote.url,
            message: { data: { tasks: [{ name: "remote-wait", params: { executorId: "wait" } }] } },
          },
        },
      ]);
      const abortedBefore = aborted.length;
      const handle = await local.execute("delegate");
      // Wait until the remote tree runs.
      let remoteRoot: Task | undefined;
      await expect
        .poll(async () => {
          const page = await remoteEngine.store.listTasks({ status: "in_progress" });
          remoteRoot = page.tasks.find((t) => t.name === "remote-wait");
          return remoteRoot !== undefined;
        })
        .toBe(true);
      await local.cancel("delegate", "the test cancels");
      const outcome = await handle.done;
      expect(outcome.status).toBe("cancelled");
      await expect
        .poll(async () => (await remoteEngine.store.getTask(remoteRoot?.id as string))?.status)
        .toBe("cancelled");
      expect(aborted.length).toBe(abortedBefore + 1);
    } finally {
      await local.stop({ graceMs: 1000 });
    }
  });

  it("refuses the agent when its host is not allow-listed (loopback), with OUTBOUND_REFUSED", async () => {
    const err = await failure(
      executeA2a(
        { agentUrl: remote.url, message: { text: "hi" } },
        createExecutorContext(),
        resolveRemoteConfig({}, {}),
      ),
    );
    expect(err.code).toBe("OUTBOUND_REFUSED");
    expect(err.retryable).toBe(false);
    const meta = await failure(
      executeA2a({ agentUrl: "http://169.254.169.254/", message: { text: "hi" } }, createExecutorContext(), allowed()),
    );
    expect(meta.code).toBe("OUTBOUND_REFUSED");
  });

  it("names an unreachable agent with A2A_ERROR and bad input with INVALID_INPUTS", async () => {
    const err = await failure(
      executeA2a(
        { agentUrl: `${remote.url}/nothing-here`, cardPath: "", message: { text: "hi" } },
        createExecutorContext(),
        allowed(),
      ),
    );
    expect(err.code).toBe("A2A_ERROR");
    expect(err.message).toContain("agent card");
    const bad = await failure(executeA2a({ agentUrl: remote.url, message: {} }, createExecutorContext(), allowed()));
    expect(bad.code).toBe("INVALID_INPUTS");
  });

  it("with blocking: false returns as soon as the remote task exists", async () => {
    const result = await executeA2a(
      {
        agentUrl: remote.url,
        blocking: false,
        message: { data: { tasks: [{ name: "nb-wait", params: { executorId: "wait" } }] } },
      },
      createExecutorContext(),
      allowed(),
    );
    expect(result.remoteTaskId).toBeTruthy();
    expect(["submitted", "working"]).toContain(result.state);
    await remoteEngine.cancel(result.remoteTaskId as string, "test cleanup");
  });
});

describe("http in a process that also serves (the server replaces the global Response)", () => {
  it("calls the second server's HTTP API", async () => {
    const result = await executeHttp({ url: `${remote.url}/health` }, createExecutorContext(), allowed());
    expect(result).toMatchObject({ status: 200, bodyEncoding: "json", body: { status: "ok" } });
  });
});
