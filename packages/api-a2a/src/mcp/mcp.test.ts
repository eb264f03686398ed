import { fileURLToPath } from "node:url";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ServerHandle } from "../server.js";
import { createToken } from "../auth/token.js";
import { listen, rpc, smallTree, testApp } from "../testing/fixtures.js";
import { RESOURCE_PAGE_SIZE } from "./server.js";

type ToolReply = {
  isError?: boolean;
  content: Array<{ type: string; text?: string }>;
  structuredContent?: Record<string, any>;
};

async function call(
  client: Client,
  name: string,
  args: Record<string, unknown> = {},
  onprogress?: (p: { progress: number; total?: number }) => void,
) {
  const reply = (await client.callTool(
    { name, arguments: args },
    undefined,
    onprogress ? { onprogress } : undefined,
  )) as ToolReply;
  return reply;
}

function textOf(content: { uri: string } | undefined): string {
  return content && "text" in content && typeof content.text === "string" ? content.text : "{}";
}

/** Every tool and both resources, the same way over any transport. */
/**
 * `wire`: progress values seen on the transport. The SDK client hands notifications to
 * `onprogress` asynchronously but drops its handler as soon as the response is read, so over
 * stdio (notifications and response in one chunk) `onprogress` may see none of them; what the
 * server sent is then checked on the wire.
 */
async function exerciseAllTools(client: Client, wire?: () => number[]): Promise<void> {
  const tools = (await client.listTools()).tools.map((t) => t.name).sort();
  expect(tools).toEqual(
    [
      "cancel_task",
      "copy_task",
      "count_tasks",
      "create_tasks",
      "execute_task",
      "get_task",
      "get_task_tree",
      "list_executors",
      "list_tasks",
      "plan_and_run",
      "resume_task",
      "create_schedule",
      "list_schedules",
      "trigger_schedule",
      "set_limit",
      "list_limits",
      "list_nodes",
      "get_node",
      "drain_node",
      "requeue_node",
      "list_node_events",
    ].sort(),
  );
  expect(
    (await call(client, "set_limit", { scope: "executor", key: "nobody", maxRunning: 5 })).structuredContent,
  ).toEqual({
    scope: "executor",
    key: "nobody",
    maxRunning: 5,
  });
  expect((await call(client, "list_limits", {})).structuredContent?.rules).toContainEqual({
    scope: "executor",
    key: "nobody",
    maxRunning: 5,
  });

  const created = await call(client, "create_tasks", { tasks: smallTree("mcp") });
  expect(created.isError).toBeFalsy();
  const rootId = created.structuredContent?.rootId as string;

  const progress: number[] = [];
  const executed = await call(client, "execute_task", { taskId: rootId }, (p) => progress.push(p.progress));
  expect(executed.structuredContent?.status).toBe("completed");
  const seen = progress.length > 0 ? progress : (wire?.() ?? []);
  expect(seen.length).toBeGreaterThan(0);
  progress.splice(0, progress.length, ...seen);
  expect(progress.every((p, i) => i === 0 || p >= (progress[i - 1] as number))).toBe(true);
  expect(Math.max(...progress)).toBeLessThanOrEqual(3);

  expect((await call(client, "get_task", { taskId: rootId })).structuredContent?.status).toBe("completed");
  const tree = await call(client, "get_task_tree", { taskId: rootId });
  expect(tree.structuredContent?.tree.children).toHaveLength(2);
  expect(
    (await call(client, "list_tasks", { rootsOnly: true })).structuredContent?.tasks.length,
  ).toBeGreaterThanOrEqual(1);
  expect((await call(client, "count_tasks", {})).structuredContent?.counts.completed).toBeGreaterThanOrEqual(3);
  expect(
    (await call(client, "list_executors")).structuredContent?.executors.map((e: { id: string }) => e.id),
  ).toContain("echo");
  const copy = await call(client, "copy_task", { taskId: rootId, mode: "full" });
  expect(copy.structuredContent?.tasks).toHaveLength(3);

  const slow = await call(client, "create_tasks", { tasks: [{ name: "slow", params: { executorId: "wait" } }] });
  const slowId = slow.structuredContent?.rootId as string;
  const started = await call(client, "execute_task", { taskId: slowId, wait: false });
  expect(started.structuredContent?.status).toBe("running");
  const cancelled = await call(client, "cancel_task", { taskId: slowId });
  expect(cancelled.isError).toBeFalsy();

  const missing = await call(client, "get_task", { taskId: "missing" });
  expect(missing.isError).toBe(true);
  expect(JSON.parse(missing.content[0]?.text ?? "{}").error.code).toBe(-32001);

  const resource = await client.readResource({ uri: `task://${rootId}` });
  expect(JSON.parse(textOf(resource.contents[0])).id).toBe(rootId);
  // A pending task says why it waits, as a resource and through get_task.
  const idle = await call(client, "create_tasks", { tasks: [{ name: "idle", params: { executorId: "echo" } }] });
  const idleId = idle.structuredContent?.rootId as string;
  const idleResource = JSON.parse(textOf((await client.readResource({ uri: `task://${idleId}` })).contents[0]));
  expect(idleResource.waiting.reason).toBe("not_executing");
  expect((await call(client, "get_task", { taskId: idleId })).structuredContent?.waiting.reason).toBe("not_executing");
  expect(JSON.parse(textOf(resource.contents[0])).waiting).toBeNull();
  const list = await client.readResource({ uri: "tasks://list" });
  expect(JSON.parse(textOf(list.contents[0])).tasks.length).toBeGreaterThanOrEqual(1);
  const templates = await client.listResourceTemplates();
  expect(templates.resourceTemplates.map((t) => t.uriTemplate)).toContain("task://{id}");
}

describe("MCP over Streamable HTTP", () => {
  const { app, engine } = testApp();
  let server: ServerHandle;
  beforeAll(async () => {
    server = await listen(app);
  });
  afterAll(async () => {
    await engine.stop({ graceMs: 0 });
    await server.close();
  });

  it("calls every tool and reads the resources", async () => {
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
    try {
      await exerciseAllTools(client);
    } finally {
      await client.close();
    }
  });
});

describe("MCP over stdio", () => {
  it("calls every tool and reads the resources", async () => {
    const script = fileURLToPath(new URL("../testing/mcp-stdio-server.ts", import.meta.url));
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: ["--import", "tsx", script],
      cwd: fileURLToPath(new URL("../..", import.meta.url)),
      stderr: "pipe",
    });
    const client = new Client({ name: "test", version: "1.0.0" });
    await client.connect(transport);
    const wire: number[] = [];
    const deliver = transport.onmessage;
    transport.onmessage = (message) => {
      const m = message as { method?: string; params?: { progress?: number } };
      if (m.method === "notifications/progress" && typeof m.params?.progress === "number") wire.push(m.params.progress);
      deliver?.(message);
    };
    try {
      await exerciseAllTools(client, () => wire);
    } finally {
      await client.close();
    }
  }, 60_000);
});

describe("MCP resources over Streamable HTTP", () => {
  const { app, engine } = testApp();
  let server: ServerHandle;
  let client: Client;
  beforeAll(async () => {
    server = await listen(app);
    client = new Client({ name: "resources", version: "1.0.0" });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`)));
  });
  afterAll(async () => {
    await client.close();
    await engine.stop({ graceMs: 0 });
    await server.close();
  });

  it("resources/list pages through every root task with cursors", { timeout: 60_000 }, async () => {
    const roots = RESOURCE_PAGE_SIZE * 2 + 7;
    const tasks = Array.from({ length: roots }, (_, i) => ({ name: `page-${i}`, params: { executorId: "echo" } }));
    // Several independent trees from one flat array (each task its own root).
    const created = await rpc(app, "tasks.create", { tasks });
    expect(created.body.result.rootIds).toHaveLength(roots);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await client.listResources(cursor === undefined ? {} : { cursor });
      pages++;
      expect(page.resources.length).toBeLessThanOrEqual(RESOURCE_PAGE_SIZE + 1);
      seen.push(...page.resources.map((r) => r.uri));
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    expect(pages).toBe(3);
    expect(seen[0]).toBe("tasks://list");
    const taskUris = seen.filter((u) => u.startsWith("task://"));
    expect(new Set(taskUris).size).toBe(roots);
    for (const id of created.body.result.rootIds as string[]) expect(taskUris).toContain(`task://${id}`);
    await expect(client.listResources({ cursor: "not-a-cursor" })).rejects.toThrow(/invalid cursor/);
  });

  it("resources/subscribe on task://{id} notifies as the task changes, until unsubscribed", {
    timeout: 60_000,
  }, async () => {
    const created = await rpc(app, "tasks.create", { tasks: [{ name: "followed", params: { executorId: "wait" } }] });
    const rootId = created.body.result.rootId as string;
    const uri = `task://${rootId}`;
    const updates: string[] = [];
    client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => {
      updates.push(n.params.uri);
    });
    const capabilities = client.getServerCapabilities();
    expect(capabilities?.resources?.subscribe).toBe(true);
    await client.subscribeResource({ uri });
    await rpc(app, "tasks.execute", { taskId: rootId });
    await vi.waitFor(() => expect(updates.length).toBeGreaterThanOrEqual(1), { timeout: 20_000 });
    const running = JSON.parse(textOf((await client.readResource({ uri })).contents[0]));
    expect(running.status).toBe("in_progress");
    await rpc(app, "tasks.cancel", { taskId: rootId });
    await vi.waitFor(
      async () => {
        const now = JSON.parse(textOf((await client.readResource({ uri })).contents[0]));
        expect(now.status).toBe("cancelled");
        expect(updates.length).toBeGreaterThanOrEqual(2);
      },
      { timeout: 20_000 },
    );
    expect(new Set(updates)).toEqual(new Set([uri]));
    await client.unsubscribeResource({ uri });

    await expect(client.subscribeResource({ uri: "task://missing" })).rejects.toThrow(/not found/i);
    await expect(client.subscribeResource({ uri: "tasks://list" })).rejects.toThrow(/task:\/\/\{id\}/);
  });

  it("a session belongs to its caller; a request without one cannot subscribe", async () => {
    const init = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "resources/subscribe", params: { uri: "task://x" } }),
    });
    const text = await init.text();
    expect(text).toContain("needs a session");
    const unknown = await fetch(`${server.url}/mcp`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        accept: "application/json, text/event-stream",
        "mcp-session-id": "no-such-session",
      },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping" }),
    });
    expect(unknown.status).toBe(404);
  });
});

describe("MCP sessions with auth on", () => {
  const secret = "mcp-session-secret-0123456789abcdef";
  const { app, engine } = testApp({ auth: { jwtSecret: secret } });
  let server: ServerHandle;
  beforeAll(async () => {
    server = await listen(app);
  });
  afterAll(async () => {
    await engine.stop({ graceMs: 0 });
    await server.close();
  });

  it("answer only the user who opened them; another user's requests see no such session", async () => {
    const alice = await createToken({ secret, sub: "alice" });
    const bob = await createToken({ secret, sub: "bob" });
    const client = new Client({ name: "alice", version: "1.0.0" });
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${alice}`, "x-llm-api-key": "anthropic:sk-test" } },
    });
    await client.connect(transport);
    try {
      const sessionId = transport.sessionId as string;
      expect(sessionId).toBeTruthy();
      const created = await client.callTool({
        name: "create_tasks",
        arguments: { tasks: [{ name: "alice-task", params: { executorId: "echo" } }] },
      });
      const rootId = (created.structuredContent as { rootId: string }).rootId;
      const asBob = await fetch(`${server.url}/mcp`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          accept: "application/json, text/event-stream",
          authorization: `Bearer ${bob}`,
          "mcp-session-id": sessionId,
        },
        body: JSON.stringify({
          jsonrpc: "2.0",
          id: 2,
          method: "resources/subscribe",
          params: { uri: `task://${rootId}` },
        }),
      });
      expect(asBob.status).toBe(404);
      await client.subscribeResource({ uri: `task://${rootId}` });
      // Each request's LLM key reaches its executors, in a session too.
      const secretTree = await client.callTool({
        name: "create_tasks",
        arguments: { tasks: [{ name: "keys", params: { executorId: "secret_echo" } }] },
      });
      const ran = await client.callTool({
        name: "execute_task",
        arguments: { taskId: (secretTree.structuredContent as { rootId: string }).rootId },
      });
      const tasks = (ran.structuredContent as { tasks: Array<{ result: { secrets: string[] } }> }).tasks;
      expect(tasks[0]?.result.secrets).toEqual(["llm:anthropic"]);
    } finally {
      await client.close();
    }
  });
});
