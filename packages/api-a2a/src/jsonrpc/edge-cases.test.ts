import { Role, type Message } from "@a2a-js/sdk";
import { ClientFactory } from "@a2a-js/sdk/client";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { dataPart } from "../a2a/mapping.js";
import type { ServerHandle } from "../server.js";
import { listen, testApp } from "../testing/fixtures.js";
import { nestsDeeperThan, stringifyJson } from "./json.js";

const DEPTH = 10_000;
const { app, engine } = testApp({ bodyLimitBytes: 16 * 1024 * 1024 });
let server: ServerHandle;
let chainRoot: string;

async function post(body: unknown): Promise<{ status: number; text: string; body: any }> {
  const res = await fetch(`${server.url}/tasks`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, text, body: text ? JSON.parse(text) : null };
}

/** Depth of a nested tree, walked without recursion; null when a level does not have one child. */
function chainLength(tree: { id: string; children: unknown[] }): number | null {
  let node = tree;
  let n = 1;
  while (node.children.length > 0) {
    if (node.children.length !== 1) return null;
    node = node.children[0] as typeof node;
    n++;
  }
  return n;
}

beforeAll(async () => {
  server = await listen(app);
  const tasks = Array.from({ length: DEPTH }, (_, i) => ({
    name: `n${i}`,
    ...(i > 0 ? { parentId: `n${i - 1}` } : {}),
    params: { executorId: "echo" },
  }));
  const created = await post({ jsonrpc: "2.0", id: 1, method: "tasks.create", params: { tasks } });
  expect(created.status).toBe(200);
  chainRoot = created.body.result.rootId;
}, 120_000);
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
  await server.close();
});

describe("a streaming call inside a batch", () => {
  it("is refused before it runs: the tree does not execute", async () => {
    const created = await post({
      jsonrpc: "2.0",
      id: 1,
      method: "tasks.create",
      params: { tasks: [{ name: "batch-stream", params: { executorId: "echo" } }] },
    });
    const rootId = created.body.result.rootId as string;
    const res = await post([
      { jsonrpc: "2.0", id: 77, method: "tasks.execute", params: { taskId: rootId, stream: true } },
      { jsonrpc: "2.0", id: 78, method: "tasks.get", params: { taskId: rootId } },
    ]);
    expect(res.status).toBe(200);
    expect(res.body[0]).toMatchObject({
      id: 77,
      error: { code: -32600, message: "streams are not allowed in a batch" },
    });
    expect(res.body[1].result.status).toBe("pending");
    // An execution would exist by now: the old path created it before answering the batch.
    const detail = await post({ jsonrpc: "2.0", id: 2, method: "tasks.detail", params: { taskId: rootId } });
    expect(detail.body.result.executions).toEqual([]);
    expect(detail.body.result.task.status).toBe("pending");
  });

  it("a streaming events call in a batch is refused the same way; the rest of the batch is answered", async () => {
    const res = await post([
      { jsonrpc: "2.0", id: "e", method: "tasks.events", params: { rootId: chainRoot, stream: true } },
      { jsonrpc: "2.0", id: "h", method: "system.health" },
    ]);
    expect(res.body[0]).toMatchObject({ id: "e", error: { code: -32600 } });
    expect(res.body[1]).toMatchObject({ id: "h", result: { status: "ok" } });
  });
});

describe(`a ${DEPTH}-deep parent chain`, () => {
  it("tasks.tree answers the nested view with the request's id", { timeout: 60_000 }, async () => {
    const res = await post({ jsonrpc: "2.0", id: 4242, method: "tasks.tree", params: { taskId: chainRoot } });
    expect(res.status).toBe(200);
    expect(res.body.id).toBe(4242);
    expect(res.body.result.rootId).toBe(chainRoot);
    expect(chainLength(res.body.result.tree)).toBe(DEPTH);
    const flat = await post({
      jsonrpc: "2.0",
      id: 4243,
      method: "tasks.tree",
      params: { taskId: chainRoot, format: "flat" },
    });
    expect(flat.body.result.tasks).toHaveLength(DEPTH);
  });

  it("MCP get_task_tree answers it (as text when too deep for structured content)", { timeout: 60_000 }, async () => {
    const client = new Client({ name: "deep", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    try {
      const reply = (await client.callTool({ name: "get_task_tree", arguments: { taskId: chainRoot } })) as {
        isError?: boolean;
        content: Array<{ type: string; text?: string }>;
      };
      expect(reply.isError).toBeFalsy();
      const value = JSON.parse(reply.content[0]?.text ?? "{}");
      expect(value.rootId).toBe(chainRoot);
      expect(chainLength(value.tree)).toBe(DEPTH);
    } finally {
      await client.close();
    }
  });

  it("A2A metadata.method tasks.tree refuses it with a client error naming the flat form", async () => {
    const client = await new ClientFactory().createFromUrl(server.url);
    const message: Message = {
      messageId: crypto.randomUUID(),
      contextId: "",
      taskId: "",
      role: Role.ROLE_USER,
      parts: [dataPart({ taskId: chainRoot })],
      metadata: { method: "tasks.tree" },
      extensions: [],
      referenceTaskIds: [],
    };
    const err = await client.sendMessage({ tenant: "", message, configuration: undefined, metadata: undefined }).then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toMatch(/flat/);
    expect(err?.message).not.toMatch(/internal/i);
    const flat = await client.sendMessage({
      tenant: "",
      message: { ...message, messageId: crypto.randomUUID(), parts: [dataPart({ taskId: chainRoot, format: "flat" })] },
      configuration: undefined,
      metadata: undefined,
    });
    const part = (flat as Message).parts[0]?.content;
    expect(part?.$case === "data" && part.value.result.tasks.length).toBe(DEPTH);
  });
});

describe("a failure while writing a response", () => {
  it("keeps the request's id (an unserialisable result is an internal error of that request)", async () => {
    const { app: broken, engine: brokenEngine } = testApp();
    const local = await listen(broken);
    try {
      const created = await broken.request("/tasks", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 1,
          method: "tasks.create",
          params: { tasks: [{ name: "x", params: { executorId: "echo" } }] },
        }),
      });
      const rootId = ((await created.json()) as { result: { rootId: string } }).result.rootId;
      const original = brokenEngine.store.getTask.bind(brokenEngine.store);
      brokenEngine.store.getTask = async (id: string) => {
        const task = await original(id);
        return task ? ({ ...task, metadata: { big: 10n } } as never) : null;
      };
      const res = await fetch(`${local.url}/tasks`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: "keep-me", method: "tasks.get", params: { taskId: rootId } }),
      });
      const body = (await res.json()) as { id: unknown; error: { code: number; message: string } };
      expect(body.id).toBe("keep-me");
      expect(body.error).toEqual({ code: -32603, message: "internal error" });
    } finally {
      await brokenEngine.stop({ graceMs: 0 });
      await local.close();
    }
  });
});

describe("stringifyJson", () => {
  it("gives JSON.stringify's text for ordinary values and any depth for deep ones", () => {
    const values: unknown[] = [
      { a: 1, b: [1, "x", null, undefined, () => 1], c: undefined, d: new Date(0), e: Number.NaN, f: { g: true } },
      [undefined, Symbol("s"), Number.POSITIVE_INFINITY],
      "plain",
      null,
    ];
    for (const v of values) expect(stringifyJson(v)).toBe(JSON.stringify(v));
    let deep: Record<string, unknown> = { leaf: [1, { x: "y" }], skip: undefined };
    for (let i = 0; i < 50_000; i++) deep = { children: [deep], n: i };
    const text = stringifyJson(deep);
    let parsed = JSON.parse(text) as { children?: Array<typeof parsed>; leaf?: unknown; skip?: unknown };
    let levels = 0;
    while (parsed.children) {
      parsed = parsed.children[0] as typeof parsed;
      levels++;
    }
    expect(levels).toBe(50_000);
    expect(parsed).toEqual({ leaf: [1, { x: "y" }] });
    expect(nestsDeeperThan(deep, 1000)).toBe(true);
    expect(nestsDeeperThan({ a: [{ b: 1 }] }, 3)).toBe(false);
    expect(nestsDeeperThan({ a: [{ b: {} }] }, 3)).toBe(true);
  });

  it("still refuses cycles and BigInt", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(() => stringifyJson(cyclic)).toThrow(TypeError);
    expect(() => stringifyJson({ n: 1n })).toThrow(TypeError);
  });
});
