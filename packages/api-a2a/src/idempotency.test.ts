import { Role, type StreamResponse, type Task as A2aTask, TaskState } from "@a2a-js/sdk";
import { type Client as A2aClient, ClientFactory } from "@a2a-js/sdk/client";
import { Engine, ErrorCode, type TaskStore } from "@aipartnerupflow/core";
import { Client as McpClient } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPart } from "./a2a/mapping.js";
import type { ServerHandle } from "./server.js";
import { listen, rpc, smallTree, testApp, testRegistry } from "./testing/fixtures.js";

let server: ServerHandle;
const { app, engine } = testApp();
const store = engine.store;

beforeAll(async () => {
  server = await listen(app);
});
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
  await server.close();
});

/** Roots whose name is `name`: how many trees a request (and its retries) made. */
async function treesNamed(name: string, s: TaskStore = store): Promise<string[]> {
  const { tasks } = await s.listTasks({ rootsOnly: true, limit: 1000 });
  return tasks.filter((t) => t.name === name).map((t) => t.id);
}

function a2aMessage(messageId: string, data: unknown) {
  return {
    tenant: "",
    message: {
      messageId,
      contextId: "",
      taskId: "",
      role: Role.ROLE_USER,
      parts: [dataPart(data)],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: undefined,
    metadata: undefined,
  };
}

describe("JSON-RPC idempotencyKey", () => {
  it("tasks.create: a repeat answers the first response and makes no second tree", async () => {
    const params = { tasks: smallTree("rpc-create"), idempotencyKey: "create-1" };
    const first = await rpc(app, "tasks.create", params);
    const again = await rpc(app, "tasks.create", params);
    expect(first.body.error).toBeUndefined();
    expect(again.body.result.rootId).toBe(first.body.result.rootId);
    expect(again.body.result.replayed).toBe(true);
    expect(first.body.result.replayed).toBeUndefined();
    expect(again.body.result.tasks.map((t: { id: string }) => t.id).sort()).toEqual(
      first.body.result.tasks.map((t: { id: string }) => t.id).sort(),
    );
    expect(await treesNamed("rpc-create-root")).toEqual([first.body.result.rootId]);
  });

  it("the same key with other parameters is refused with -32602 naming idempotencyKey", async () => {
    await rpc(app, "tasks.create", { tasks: smallTree("rpc-other"), idempotencyKey: "create-2" });
    const other = await rpc(app, "tasks.create", { tasks: smallTree("rpc-other-b"), idempotencyKey: "create-2" });
    expect(other.body.error?.code).toBe(ErrorCode.InvalidParams);
    expect(other.body.error?.message).toContain("idempotencyKey");
    expect(other.body.error?.data.errors[0].path).toBe("idempotencyKey");
    expect(await treesNamed("rpc-other-b-root")).toEqual([]);
    const long = await rpc(app, "tasks.create", { tasks: smallTree("rpc-long"), idempotencyKey: "x".repeat(201) });
    expect(long.body.error?.code).toBe(ErrorCode.InvalidParams);
    expect(JSON.stringify(long.body.error?.data)).toContain("idempotencyKey");
  });

  it("tasks.execute: a repeat (also with wait) answers the same execution; one run", async () => {
    const created = await rpc(app, "tasks.create", { tasks: smallTree("rpc-exec") });
    const rootId = created.body.result.rootId;
    const first = await rpc(app, "tasks.execute", { taskId: rootId, wait: true, idempotencyKey: "exec-1" });
    const again = await rpc(app, "tasks.execute", { taskId: rootId, wait: true, idempotencyKey: "exec-1" });
    expect(first.body.result.status).toBe("completed");
    expect(again.body.result.executionId).toBe(first.body.result.executionId);
    expect(again.body.result.replayed).toBe(true);
    expect(await store.listExecutions({ rootId })).toHaveLength(1);
    const other = await rpc(app, "tasks.execute", { taskId: rootId, rerun: "all", idempotencyKey: "exec-1" });
    expect(other.body.error?.code).toBe(ErrorCode.InvalidParams);
  });

  it("tasks.copy with run: one copy and one execution per key", async () => {
    const created = await rpc(app, "tasks.create", { tasks: smallTree("rpc-copy") });
    const rootId = created.body.result.rootId;
    await rpc(app, "tasks.execute", { taskId: rootId, wait: true });
    const params = { taskId: rootId, mode: "full", run: true, idempotencyKey: "copy-1" };
    const first = await rpc(app, "tasks.copy", params);
    const again = await rpc(app, "tasks.copy", params);
    expect(first.body.error).toBeUndefined();
    expect(again.body.result.rootId).toBe(first.body.result.rootId);
    expect(again.body.result.executionId).toBe(first.body.result.executionId);
    expect(again.body.result.replayed).toBe(true);
    const copies = (await store.listTasks({ rootsOnly: true, limit: 1000 })).tasks.filter(
      (t) => t.originalTaskId === rootId,
    );
    expect(copies.map((t) => t.id)).toEqual([first.body.result.rootId]);
    expect(await store.listExecutions({ rootId: first.body.result.rootId })).toHaveLength(1);
    const noSave = await rpc(app, "tasks.copy", { taskId: rootId, save: false, run: true });
    expect(noSave.body.error?.code).toBe(ErrorCode.InvalidParams);
  });

  it("unique trees: a second create while the first is unfinished answers it with existing: true", async () => {
    const tree = [{ name: "rpc-nightly", params: { executorId: "echo" }, uniqueKey: "nightly" }];
    const first = await rpc(app, "tasks.create", { tasks: tree });
    const again = await rpc(app, "tasks.create", { tasks: tree });
    expect(first.body.result.existing).toBeUndefined();
    expect(again.body.result.existing).toBe(true);
    expect(again.body.result.rootId).toBe(first.body.result.rootId);
    await rpc(app, "tasks.execute", { taskId: first.body.result.rootId, wait: true });
    const next = await rpc(app, "tasks.create", { tasks: tree });
    expect(next.body.result.existing).toBeUndefined();
    expect(next.body.result.rootId).not.toBe(first.body.result.rootId);
    const bad = await rpc(app, "tasks.create", {
      tasks: [{ name: "x", uniqueKey: "k", unique: { scope: "sometimes" } }],
    });
    expect(bad.body.error?.code).toBe(ErrorCode.InvalidParams);
    expect(bad.body.error?.data.errors[0].path).toBe("tasks[0].unique.scope");
  });

  it("a store without the idempotency facet refuses a key instead of ignoring it", async () => {
    const plain = new Engine({ store: withoutFacet(), registry: testRegistry() });
    const bare = testApp({ engine: plain }).app;
    const reply = await rpc(bare, "tasks.create", { tasks: smallTree("bare"), idempotencyKey: "k" });
    expect(reply.body.error?.code).toBe(ErrorCode.InvalidParams);
    expect(reply.body.error?.message).toContain("idempotencyKey");
    await plain.stop();
  });
});

/** A MemoryStore seen without its idempotency facet (a store that does not implement it). */
function withoutFacet(): TaskStore {
  const inner = testApp().engine.store;
  return new Proxy(inner, {
    get: (target, prop, receiver) => {
      if (prop === "idempotency") return undefined;
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

describe("A2A retries with the same messageId (the official SDK client)", () => {
  let client: A2aClient;
  beforeAll(async () => {
    client = await new ClientFactory().createFromUrl(server.url);
  });

  it("message/send twice: one tree, the same task, one execution", async () => {
    const id = crypto.randomUUID();
    const first = (await client.sendMessage(a2aMessage(id, { tasks: smallTree("a2a-retry") }))) as A2aTask;
    const again = (await client.sendMessage(a2aMessage(id, { tasks: smallTree("a2a-retry") }))) as A2aTask;
    expect(first.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(again.id).toBe(first.id);
    expect(again.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(await treesNamed("a2a-retry-root")).toEqual([first.id]);
    expect(await store.listExecutions({ rootId: first.id })).toHaveLength(1);
    // Another messageId is another request.
    await client.sendMessage(a2aMessage(crypto.randomUUID(), { tasks: smallTree("a2a-retry") }));
    expect(await treesNamed("a2a-retry-root")).toHaveLength(2);
  });

  it("message/stream retried while the first runs: it follows the same task", async () => {
    const id = crypto.randomUUID();
    const tree = [{ name: "a2a-stream-retry", params: { executorId: "wait", ms: 300 } }];
    const firstStream = client.sendMessageStream(a2aMessage(id, { tasks: tree }));
    const firstUpdates: StreamResponse[] = [];
    const iterator = firstStream[Symbol.asyncIterator]();
    const head = await iterator.next();
    if (!head.done) firstUpdates.push(head.value);
    const retried: StreamResponse[] = [];
    for await (const r of client.sendMessageStream(a2aMessage(id, { tasks: tree }))) retried.push(r);
    for (;;) {
      const next = await iterator.next();
      if (next.done) break;
      firstUpdates.push(next.value);
    }
    const taskIdOf = (r: StreamResponse): string | undefined =>
      r.payload?.$case === "task"
        ? r.payload.value.id
        : r.payload?.$case === "statusUpdate"
          ? r.payload.value.taskId
          : undefined;
    const rootIds = await treesNamed("a2a-stream-retry");
    expect(rootIds).toHaveLength(1);
    expect(new Set(retried.map(taskIdOf).filter(Boolean))).toEqual(new Set(rootIds));
    expect(new Set(firstUpdates.map(taskIdOf).filter(Boolean))).toEqual(new Set(rootIds));
    const last = retried.at(-1);
    const finalState =
      last?.payload?.$case === "statusUpdate"
        ? last.payload.value.status?.state
        : last?.payload?.$case === "task"
          ? last.payload.value.status?.state
          : undefined;
    expect(finalState).toBe(TaskState.TASK_STATE_COMPLETED);
    expect(await store.listExecutions({ rootId: rootIds[0] as string })).toHaveLength(1);
  });
});

describe("A2A v0.3 message/send retried with the same messageId", () => {
  it("answers the same task and makes one tree; another tree under that messageId is refused", async () => {
    const send = async (messageId: string, tasks: unknown) => {
      const res = await fetch(`${server.url}/a2a`, {
        method: "POST",
        headers: { "content-type": "application/json", "A2A-Version": "0.3" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "message/send",
          params: { message: { kind: "message", messageId, role: "user", parts: [{ kind: "data", data: { tasks } }] } },
        }),
      });
      return (await res.json()) as { result?: { id: string; status: { state: string } }; error?: { code: number } };
    };
    const id = crypto.randomUUID();
    const first = await send(id, smallTree("v03-retry"));
    const again = await send(id, smallTree("v03-retry"));
    expect(first.result?.status.state).toBe("completed");
    expect(again.result?.id).toBe(first.result?.id);
    expect(await treesNamed("v03-retry-root")).toEqual([first.result?.id]);
    const other = await send(id, smallTree("v03-other"));
    expect(other.error?.code).toBe(ErrorCode.InvalidParams);
    expect(await treesNamed("v03-other-root")).toEqual([]);
  });
});

describe("MCP retries with the same idempotencyKey (the MCP SDK client)", () => {
  let client: McpClient;
  beforeAll(async () => {
    client = new McpClient({ name: "retry", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
  });
  afterAll(async () => {
    await client.close();
  });

  type ToolReply = { isError?: boolean; structuredContent?: Record<string, any> };
  const call = async (name: string, args: Record<string, unknown>) =>
    (await client.callTool({ name, arguments: args })) as ToolReply;

  it("create_tasks and execute_task: one tree and one execution per key", async () => {
    const tools = (await client.listTools()).tools;
    for (const name of ["create_tasks", "execute_task"]) {
      const schema = tools.find((t) => t.name === name)?.inputSchema as { properties?: Record<string, unknown> };
      expect(Object.keys(schema.properties ?? {})).toContain("idempotencyKey");
    }
    const args = { tasks: smallTree("mcp-retry"), idempotencyKey: "mcp-create-1" };
    const first = await call("create_tasks", args);
    const again = await call("create_tasks", args);
    expect(first.isError).toBeFalsy();
    const rootId = first.structuredContent?.rootId as string;
    expect(again.structuredContent?.rootId).toBe(rootId);
    expect(await treesNamed("mcp-retry-root")).toEqual([rootId]);

    const run1 = await call("execute_task", { taskId: rootId, idempotencyKey: "mcp-run-1" });
    const run2 = await call("execute_task", { taskId: rootId, idempotencyKey: "mcp-run-1" });
    expect(run1.structuredContent?.status).toBe("completed");
    expect(run2.structuredContent?.executionId).toBe(run1.structuredContent?.executionId);
    expect(run2.structuredContent?.replayed).toBe(true);
    expect(await store.listExecutions({ rootId })).toHaveLength(1);

    const other = await call("create_tasks", { tasks: smallTree("mcp-other"), idempotencyKey: "mcp-create-1" });
    expect(other.isError).toBe(true);
  });
});
