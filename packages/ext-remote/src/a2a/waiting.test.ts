import { createApp, type ServerHandle, startServer } from "@aipartnerupflow/api-a2a";
import { Engine, MemoryStore, Registry, registerBuiltins } from "@aipartnerupflow/core";
import { createExecutorContext } from "@aipartnerupflow/core/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { resolveRemoteConfig } from "../config.js";
import { createA2aExecutor, executeA2a } from "./executor.js";

const POLL = { timeout: 20_000 };

/** The remote side: an aipartnerupflow server whose `ask` executor waits for an account number. */
let remote: ServerHandle;
let remoteEngine: Engine;
/** The local side: an engine running the `a2a` executor against it. */
let local: Engine;

beforeAll(async () => {
  const registry = new Registry();
  registry.registerExecutor({
    id: "ask",
    execute: (_inputs, ctx) =>
      ctx.resumeInput !== undefined
        ? { got: ctx.resumeInput }
        : ctx.waitFor({
            prompt: "Which account?",
            schema: { type: "object", properties: { account: { type: "string" } }, required: ["account"] },
          }),
  });
  remoteEngine = new Engine({ store: new MemoryStore(), registry, pollIntervalMs: 50 });
  remote = await startServer({ app: createApp({ engine: remoteEngine }), port: 0, host: "127.0.0.1" });
  const localRegistry = registerBuiltins(new Registry());
  localRegistry.registerExecutor(createA2aExecutor({ allowHosts: [`127.0.0.1:${remote.port}`] }, {}));
  local = new Engine({ store: new MemoryStore(), registry: localRegistry, pollIntervalMs: 50 });
  await local.start();
});
afterAll(async () => {
  await local.stop({ graceMs: 0 });
  await remoteEngine.stop({ graceMs: 0 });
  await remote.close();
});

describe("a2a executor: a remote agent's question becomes a waiting task", () => {
  it("waits with the remote prompt and schema, and the answer resumes the remote task to completion", async () => {
    const [tree] = await local.createTrees([
      {
        name: "delegate",
        params: { executorId: "a2a" },
        inputs: {
          agentUrl: remote.url,
          message: { data: { tasks: [{ name: "remote-ask", params: { executorId: "ask" } }] } },
        },
      },
    ]);
    const id = tree?.[0]?.id as string;
    const handle = await local.execute(id);
    await expect.poll(async () => (await local.store.getTask(id))?.status, POLL).toBe("waiting");
    const waiting = await local.store.getTask(id);
    expect(waiting?.wait?.prompt).toContain("asks: Which account?");
    expect(waiting?.wait?.schema).toMatchObject({ required: ["account"] });
    // The remote tree waits too, and no local slot is held meanwhile.
    expect(local.activeCount).toBe(0);

    await local.resume(id, { account: "SE-5" }, { by: "alice" });
    const outcome = await handle.done;
    expect(outcome.status).toBe("completed");
    const done = await local.store.getTask(id);
    expect(JSON.stringify(done?.result)).toContain("SE-5");
    const remoteRoot = (await remoteEngine.store.listTasks({ rootsOnly: true })).tasks[0];
    expect(remoteRoot?.status).toBe("completed");
    expect(remoteRoot?.result).toEqual({ got: { account: "SE-5" } });
  });

  it("against a plain SDK agent: the question (text only) becomes a wait, the remote task is left open", async () => {
    const { startInputRequiredAgent } = await import("../testing/sdk-agent.js");
    const agent = await startInputRequiredAgent();
    try {
      const port = new URL(agent.url).port;
      const err = (await executeA2a(
        { agentUrl: agent.url, message: { text: "deploy" } },
        createExecutorContext(),
        resolveRemoteConfig({ allowHosts: [`127.0.0.1:${port}`] }, {}),
      ).then(
        () => undefined,
        (e: unknown) => e,
      )) as { name?: string; spec?: { prompt: string; schema?: unknown } };
      expect(err?.name).toBe("WaitRequest");
      expect(err.spec?.prompt).toContain("which region?");
      expect(err.spec?.schema).toBeUndefined();
      expect(agent.cancelled).toEqual([]);
    } finally {
      await agent.close();
    }
  });
});
