import type { Engine, Task } from "@aipartnerupflow/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../auth/token.js";
import type { ServerHandle } from "../server.js";
import { listen, testApp } from "../testing/fixtures.js";
import type { AppOptions } from "../types.js";
import {
  type NewWebappTask,
  WebappClient,
  type WebappEvent,
  WebappRpcError,
  type WebappTask,
} from "./webapp-client.js";

const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$/;

interface Running {
  server: ServerHandle;
  engine: Engine;
  base: string;
}
const running: Running[] = [];

async function serve(overrides: Partial<AppOptions> = {}): Promise<Running> {
  const { app, engine } = testApp(overrides);
  const server = await listen(app);
  const r = { server, engine, base: `${server.url.replace(/\/$/, "")}/compat` };
  running.push(r);
  return r;
}

async function stopAll() {
  for (const r of running.splice(0)) {
    await r.engine.stop({ graceMs: 0 });
    await r.server.close();
  }
}

/** What the web app's create page sends: ids it made up, snake_case, `schemas.method` as executor. */
function webappTree(prefix: string): NewWebappTask[] {
  return [
    {
      id: `${prefix}-root`,
      name: `${prefix} root`,
      schemas: { method: "aggregate_results_executor" },
      dependencies: [
        { id: `${prefix}-a`, required: true },
        { id: `${prefix}-b`, required: true },
      ],
    },
    {
      id: `${prefix}-a`,
      name: `${prefix} a`,
      parent_id: `${prefix}-root`,
      schemas: { method: "echo" },
      inputs: { n: 1 },
    },
    {
      id: `${prefix}-b`,
      name: `${prefix} b`,
      parent_id: `${prefix}-root`,
      schemas: { method: "echo" },
      inputs: { n: 2 },
      dependencies: [{ id: `${prefix}-a`, required: true }],
    },
  ];
}

/** The fields the web app's pages read from a task (list rows, detail panel, tree view). */
function expectTaskFields(t: WebappTask) {
  expect(typeof t.id).toBe("string");
  expect(typeof t.name).toBe("string");
  expect(["pending", "in_progress", "completed", "failed", "cancelled"]).toContain(t.status);
  expect(typeof t.progress).toBe("number");
  expect(t.progress).toBeGreaterThanOrEqual(0);
  expect(t.progress).toBeLessThanOrEqual(1);
  expect(t.created_at).toMatch(ISO);
  expect(t.updated_at).toMatch(ISO);
  expect(typeof t.has_children).toBe("boolean");
  expect("parent_id" in t).toBe(true);
  expect("user_id" in t).toBe(true);
  expect("original_task_id" in t).toBe(true);
  expect(t.error === null || typeof t.error === "string").toBe(true);
  expect(typeof t.inputs).toBe("object");
  expect(t).not.toHaveProperty("parentId");
  expect(t).not.toHaveProperty("createdAt");
}

async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  for (let i = 0; i < 400; i++) {
    const v = await fn();
    if (ok(v)) return v;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error("condition not reached");
}

async function rpcError(p: Promise<unknown>): Promise<WebappRpcError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WebappRpcError) return err;
    throw err;
  }
  throw new Error("expected an RPC error");
}

describe("the original web app's API module against /compat (auth off)", () => {
  let r: Running;
  let client: WebappClient;
  beforeAll(async () => {
    r = await serve();
    client = new WebappClient(r.base);
  });
  afterAll(stopAll);

  it("getHealth and getAgentCard", async () => {
    const health = await client.getHealth();
    expect(health.status).toBe("healthy");
    expect(typeof health.version).toBe("string");
    expect(typeof health.uptime).toBe("number");
    const card = await client.getAgentCard();
    expect(card.name).toBe("aipartnerupflow");
    expect(String(card.url)).toMatch(/\/a2a$/);
    expect(Array.isArray(card.skills)).toBe(true);
    expect(card.capabilities).toMatchObject({ streaming: true });
  });

  it("createTasks, getTask, getTaskDetail, getTaskTree, listTasks, getTaskChildren", async () => {
    const created = await client.createTasks(webappTree("w1"));
    expect(created).toMatchObject({ status: "pending", root_task_id: "w1-root", progress: 0, task_count: 3 });

    const root = await client.getTask("w1-root");
    expectTaskFields(root);
    expect(root).toMatchObject({ id: "w1-root", name: "w1 root", parent_id: null, has_children: true, error: null });
    // The original's executor id names our counterpart.
    expect(root.schemas).toEqual({ method: "aggregate_results" });
    expect(root.dependencies).toEqual([
      { id: "w1-a", required: true },
      { id: "w1-b", required: true },
    ]);

    const detail = await client.getTaskDetail("w1-root");
    expect(detail.id).toBe("w1-root");
    expectTaskFields(detail);
    expect((detail.children ?? []).map((c) => c.id).sort()).toEqual(["w1-a", "w1-b"]);
    for (const c of detail.children ?? []) {
      expectTaskFields(c);
      expect(c.parent_id).toBe("w1-root");
      expect(c.children).toEqual([]);
    }

    // Asked from a child, the tree is the whole tree; both the later client's unwrapping and the
    // original server's plain nesting read the same answer.
    const tree = await client.getTaskTree("w1-b");
    expect(tree.id).toBe("w1-root");
    expect(tree.children.map((c) => c.name).sort()).toEqual(["w1 a", "w1 b"]);
    const byRoot = await client.getTaskTree(undefined, "w1-root");
    expect(byRoot.id).toBe("w1-root");
    const raw = await client.getTaskTreeRaw("w1-root");
    expect(raw.id).toBe("w1-root");
    expect(raw.children.map((c) => c.id).sort()).toEqual(["w1-a", "w1-b"]);

    const single = await client.createTasks({ name: "lonely", schemas: { method: "echo" } });
    expect(single.task_count).toBe(1);
    expect(typeof single.root_task_id).toBe("string");

    const list = await client.listTasks();
    expect(Array.isArray(list)).toBe(true);
    expect(list.map((t) => t.id)).toEqual([single.root_task_id, "w1-root"]);
    for (const t of list) expectTaskFields(t);
    expect(list.find((t) => t.id === "w1-root")?.has_children).toBe(true);
    const all = await client.listTasks({ root_only: false, limit: 1000 });
    expect(all).toHaveLength(4);
    // A Python script's None: an absent parameter, as the original read it.
    const nulls = await client.rpc<WebappTask[]>("/tasks", "tasks.list", { status: null, user_id: null, limit: null });
    expect(nulls.map((t) => t.id)).toEqual([single.root_task_id, "w1-root"]);
    const pending = await client.listTasks({ status: "pending" });
    expect(pending).toHaveLength(2);

    const children = await client.getTaskChildren("w1-root");
    expect(children.map((c) => c.id).sort()).toEqual(["w1-a", "w1-b"]);
    for (const c of children) expectTaskFields(c);
  });

  it("updateTask changes what a task will do and refuses what only the engine writes", async () => {
    await client.createTasks([{ id: "u1", name: "upd", schemas: { method: "echo" }, inputs: { x: 1 } }]);
    const updated = await client.updateTask("u1", { inputs: { x: 2 }, name: "renamed" });
    expectTaskFields(updated);
    expect(updated).toMatchObject({ id: "u1", name: "renamed", inputs: { x: 2 } });
    const refused = await rpcError(client.updateTask("u1", { status: "completed", progress: 1 }));
    expect(refused.code).toBe(-32602);
    expect(refused.message).toContain("params.status");
    expect(refused.message).toContain("params.progress");
    expect((await client.getTask("u1")).status).toBe("pending");
  });

  it("executeTask streaming: the events the pages read, final, then stream_end", async () => {
    await client.createTasks(webappTree("s1"));
    const events: WebappEvent[] = [];
    const initial = await client.executeTask("s1-root", true, (e) => events.push(e));
    expect(initial).toMatchObject({ success: true, root_task_id: "s1-root", task_id: "s1-root", status: "started" });
    expect(typeof initial.message).toBe("string");
    const final = events[events.length - 1] as WebappEvent;
    expect(final).toMatchObject({ type: "final", task_id: "s1-root", status: "completed", final: true });
    expect(final.result).toMatchObject({ count: 2 });
    const types = events.map((e) => e.type);
    expect(types).toContain("task_start");
    expect(types.filter((t) => t === "task_completed")).toHaveLength(3);
    for (const e of events) {
      expect(typeof e.task_id).toBe("string");
      expect(typeof e.status).toBe("string");
      expect(e.final === true).toBe(e === final);
    }
    const done = events.find((e) => e.type === "task_completed" && e.task_id === "s1-a");
    expect(done?.result).toMatchObject({ n: 1 });
    expect((await client.getTask("s1-root")).status).toBe("completed");
  });

  it("the stream ends with stream_end after final, and failures carry a string error", async () => {
    await client.createTasks([{ id: "f1", name: "fails", schemas: { method: "boom" } }]);
    const res = await fetch(`${r.base}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 7,
        method: "tasks.execute",
        params: { task_id: "f1", use_streaming: true },
      }),
    });
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const frames = (await res.text())
      .split("\n")
      .filter((l) => l.startsWith("data: "))
      .map((l) => JSON.parse(l.slice(6)));
    expect(frames[0]).toMatchObject({ jsonrpc: "2.0", id: 7, result: { root_task_id: "f1", streaming: true } });
    expect(frames[frames.length - 1]).toEqual({ type: "stream_end", task_id: "f1" });
    const failed = frames.find((f) => f.type === "task_failed");
    expect(failed).toMatchObject({ task_id: "f1", status: "failed", error: "exploded on purpose", error_code: "BOOM" });
    const final = frames[frames.length - 2];
    expect(final).toMatchObject({ type: "final", status: "failed", final: true, error: "exploded on purpose" });
    const task = await client.getTask("f1");
    expect(task).toMatchObject({ status: "failed", error: "exploded on purpose", error_code: "BOOM" });
  });

  it("executeTask without streaming, with use_demo, and copyTask of a finished tree", async () => {
    await client.createTasks(webappTree("n1"));
    const started = await client.executeTask("n1-root", false);
    expect(started).toMatchObject({ success: true, root_task_id: "n1-root", task_id: "n1-root", status: "started" });
    expect(typeof started.message).toBe("string");
    await waitFor(
      () => client.getTask("n1-root"),
      (t) => t.status === "completed",
    );

    await client.createTasks([{ id: "d1", name: "demo", schemas: { method: "echo" }, inputs: { a: 1 } }]);
    const demo = await client.executeTask("d1", false, undefined, true);
    expect(demo.status).toBe("started");
    const demoTask = await waitFor(
      () => client.getTask("d1"),
      (t) => t.status === "completed",
    );
    expectTaskFields(demoTask);

    const copy = await client.copyTask("n1-root");
    expectTaskFields(copy);
    expect(copy.id).not.toBe("n1-root");
    expect(copy.original_task_id).toBe("n1-root");
    expect(copy.status).toBe("pending");
    expect((copy.children ?? []).map((c) => c.original_task_id).sort()).toEqual(["n1-a", "n1-b"]);
    const copied = await client.getTask(copy.id);
    expect(copied.original_task_id).toBe("n1-root");
  });

  it("getRunningTasks, getRunningTaskCount, getRunningTaskStatus and cancelTasks", async () => {
    await client.createTasks([{ id: "r1", name: "long", schemas: { method: "wait" } }]);
    await client.executeTask("r1", false);
    const list = await waitFor(
      () => client.getRunningTasks(),
      (l) => l.some((t) => t.id === "r1" && t.status === "in_progress"),
    );
    const row = list.find((t) => t.id === "r1");
    expect(row).toMatchObject({ id: "r1", name: "long", status: "in_progress" });
    expect(typeof row?.progress).toBe("number");
    expect((await client.getRunningTaskCount()).count).toBe(1);

    const statuses = await client.getRunningTaskStatus(["r1", "nope"]);
    expect(statuses).toEqual([
      expect.objectContaining({ task_id: "r1", status: "in_progress", is_running: true }),
      expect.objectContaining({ task_id: "nope", status: "not_found", is_running: false }),
    ]);

    const cancelled = await client.cancelTasks(["r1"]);
    expect(cancelled).toEqual([expect.objectContaining({ task_id: "r1", status: "cancelled" })]);
    await waitFor(
      () => client.getRunningTaskCount(),
      (c) => c.count === 0,
    );
    expect((await client.getTask("r1")).status).toBe("cancelled");
    expect(await client.getRunningTasks()).toEqual([]);
    const missing = await client.cancelTasks(["ghost"]);
    expect(missing).toEqual([expect.objectContaining({ task_id: "ghost", status: "failed", code: -32001 })]);
  });

  it("deleteTask, and our error codes with a readable message", async () => {
    await client.createTasks([{ id: "del1", name: "doomed", schemas: { method: "echo" } }]);
    expect(await client.deleteTask("del1")).toMatchObject({ success: true, task_id: "del1" });
    const gone = await rpcError(client.getTask("del1"));
    expect(gone.code).toBe(-32001);
    expect(gone.status).toBe(404);
    expect(gone.message).toBe("task not found: del1");
    const bad = await rpcError(client.createTasks([{ id: "x", name: "x", schemas: { method: "no_such_executor" } }]));
    expect(bad.code).toBe(-32003);
    expect(bad.message).toContain("no_such_executor");
    const unknown = await rpcError(client.rpc("/tasks", "tasks.frobnicate", {}));
    expect(unknown.code).toBe(-32601);
    const systemOnTasks = await rpcError(client.rpc("/tasks", "system.health", {}));
    expect(systemOnTasks.code).toBe(-32601);
    expect(systemOnTasks.message).toBe("method not found: system.health is served at /compat/system");
    const generate = await rpcError(client.rpc("/tasks", "tasks.generate", { requirement: "x" }));
    expect(generate.message).toContain("call it on /tasks");
  });

  it("LLM keys: set, status, used by executions, never stored, deleted", async () => {
    const set = await client.setLLMKey("sk-compat-secret-1", "openai");
    expect(set).toEqual({ success: true, user_id: "default", provider: "openai" });
    const status = await client.getLLMKeyStatus();
    expect(status).toMatchObject({ has_key: true, user_id: "default", providers: { openai: "***" } });
    expect((await client.getLLMKeyStatus("anthropic")).has_key).toBe(false);
    expect(JSON.stringify(status)).not.toContain("sk-compat");

    await client.createTasks([{ id: "k1", name: "key user", schemas: { method: "secret_echo" } }]);
    const events: WebappEvent[] = [];
    await client.executeTask("k1", true, (e) => events.push(e));
    const task = await client.getTask("k1");
    expect(task.result).toEqual({ secrets: ["llm:openai"] });
    const stored = JSON.stringify([
      await r.engine.store.getTree("k1"),
      await r.engine.store.readEvents({ rootId: "k1" }),
      await r.engine.store.listExecutions({ rootId: "k1" }),
      events,
    ]);
    expect(stored).not.toContain("sk-compat-secret-1");

    const deleted = await client.deleteLLMKey("openai");
    expect(deleted).toEqual({ success: true, user_id: "default", deleted: true, provider: "openai" });
    expect((await client.getLLMKeyStatus()).has_key).toBe(false);
    expect((await client.deleteLLMKey()).deleted).toBe(false);
  });
});

describe("/compat under auth: two users stay isolated", () => {
  const SECRET = "compat-test-secret-that-is-long-enough";
  let r: Running;
  let alice: WebappClient;
  let bob: WebappClient;
  let anonymous: WebappClient;
  beforeAll(async () => {
    r = await serve({ auth: { jwtSecret: SECRET } });
    alice = new WebappClient(r.base, await createToken({ secret: SECRET, sub: "alice" }));
    bob = new WebappClient(r.base, await createToken({ secret: SECRET, sub: "bob" }));
    anonymous = new WebappClient(r.base);
  });
  afterAll(stopAll);

  it("every call of the module stays within its user", async () => {
    const created = await alice.createTasks(webappTree("a1"));
    // Only admins choose ids: the web app's made-up ids are replaced, references follow by name.
    expect(created.task_count).toBe(3);
    const rootId = created.root_task_id;
    expect(rootId).not.toBe("a1-root");
    const tree = await alice.getTaskTree(rootId);
    expect(tree.children.map((c) => c.name).sort()).toEqual(["a1 a", "a1 b"]);
    expect(tree.user_id).toBe("alice");
    const childA = tree.children.find((c) => c.name === "a1 a") as WebappTask;
    const childB = tree.children.find((c) => c.name === "a1 b") as WebappTask;
    expect(childB.dependencies).toEqual([{ id: childA.id, required: true }]);

    const notFound = async (p: Promise<unknown>) => expect((await rpcError(p)).code).toBe(-32001);
    await notFound(bob.getTask(rootId));
    await notFound(bob.getTaskDetail(rootId));
    await notFound(bob.getTaskTree(rootId));
    await notFound(bob.getTaskChildren(rootId));
    await notFound(bob.updateTask(rootId, { name: "mine now" }));
    await notFound(bob.copyTask(rootId));
    await notFound(bob.executeTask(rootId, false));
    await notFound(bob.deleteTask(rootId));
    expect(await bob.listTasks()).toEqual([]);
    expect(await bob.listTasks({ userId: "alice" })).toEqual([]);
    expect((await alice.listTasks()).map((t) => t.id)).toEqual([rootId]);

    await alice.createTasks([{ name: "a long one", schemas: { method: "wait" } }]);
    const longId = (await alice.listTasks()).find((t) => t.name === "a long one")?.id as string;
    await alice.executeTask(longId, false);
    await waitFor(
      () => alice.getRunningTaskCount(),
      (c) => c.count === 1,
    );
    expect(await alice.getRunningTaskCount()).toEqual({ count: 1, user_id: "alice" });
    expect(await bob.getRunningTaskCount()).toEqual({ count: 0, user_id: "bob" });
    expect(await bob.getRunningTasks()).toEqual([]);
    expect((await alice.getRunningTasks()).map((t) => t.id)).toEqual([longId]);
    expect(await bob.getRunningTaskStatus([longId])).toEqual([
      expect.objectContaining({ task_id: longId, status: "not_found", is_running: false }),
    ]);
    expect(await bob.cancelTasks([longId])).toEqual([
      expect.objectContaining({ task_id: longId, status: "failed", code: -32001 }),
    ]);
    expect((await alice.getTask(longId)).status).toBe("in_progress");
    expect(await alice.cancelTasks([longId])).toEqual([
      expect.objectContaining({ task_id: longId, status: "cancelled" }),
    ]);

    const events: WebappEvent[] = [];
    await alice.executeTask(rootId, true, (e) => events.push(e));
    expect(events[events.length - 1]).toMatchObject({ type: "final", status: "completed" });
    expect((await alice.copyTask(rootId)).user_id).toBe("alice");
  });

  it("LLM keys are per user; another user's are refused", async () => {
    await alice.setLLMKey("sk-alice-only", "anthropic");
    expect(await alice.getLLMKeyStatus()).toMatchObject({
      has_key: true,
      user_id: "alice",
      providers: { anthropic: "***" },
    });
    expect(await bob.getLLMKeyStatus()).toMatchObject({ has_key: false, user_id: "bob", providers: {} });
    const foreign = await rpcError(bob.getLLMKeyStatus(undefined, "alice"));
    expect(foreign.code).toBe(-32004);
    expect((await rpcError(bob.setLLMKey("sk-bob", "openai", "alice"))).code).toBe(-32004);
    expect((await rpcError(bob.deleteLLMKey(undefined, "alice"))).code).toBe(-32004);
    expect((await bob.deleteLLMKey()).deleted).toBe(false);

    const created = await alice.createTasks([{ name: "sees keys", schemas: { method: "secret_echo" } }]);
    await alice.executeTask(created.root_task_id, true, () => undefined);
    expect((await alice.getTask(created.root_task_id)).result).toEqual({ secrets: ["llm:anthropic"] });
    const bobs = await bob.createTasks([{ name: "sees none", schemas: { method: "secret_echo" } }]);
    await bob.executeTask(bobs.root_task_id, true, () => undefined);
    expect((await bob.getTask(bobs.root_task_id)).result).toEqual({ secrets: [] });
  });

  it("our auth: no token is 401, the agent card stays public", async () => {
    const err = await rpcError(anonymous.listTasks());
    expect(err.status).toBe(401);
    expect(err.code).toBe(-32004);
    const card = await anonymous.getAgentCard();
    expect(card.securitySchemes).toBeDefined();
    const health = await rpcError(anonymous.getHealth());
    expect(health.status).toBe(401);
    expect((await alice.getHealth()).status).toBe("healthy");
  });
});

describe("/compat settings", () => {
  afterEach(stopAll);

  it("storedLlmKeys: false refuses config.llm_key.* and keeps the header way", async () => {
    const r = await serve({ compat: { storedLlmKeys: false } });
    const client = new WebappClient(r.base, undefined, "openai:sk-header-key");
    const refused = await rpcError(client.setLLMKey("sk-nope", "openai"));
    expect(refused.code).toBe(-32004);
    expect(refused.message).toContain("X-LLM-API-KEY");
    expect((await rpcError(client.getLLMKeyStatus())).code).toBe(-32004);
    expect((await rpcError(client.deleteLLMKey())).code).toBe(-32004);
    await client.createTasks([{ id: "h1", name: "header key", schemas: { method: "secret_echo" } }]);
    await client.executeTask("h1", true, () => undefined);
    expect((await client.getTask("h1")).result).toEqual({ secrets: ["llm:openai"] });
  });

  it("a custom path, or off", async () => {
    const moved = await serve({ compat: { path: "/py" } });
    const base = moved.server.url.replace(/\/$/, "");
    expect((await new WebappClient(`${base}/py`).getHealth()).status).toBe("healthy");
    expect((await fetch(`${base}/compat/system`, { method: "POST", body: "{}" })).status).toBe(404);
    const off = await serve({ compat: false });
    const offBase = off.server.url.replace(/\/$/, "");
    expect((await fetch(`${offBase}/compat/tasks`, { method: "POST", body: "{}" })).status).toBe(404);
    expect((await fetch(`${offBase}/compat/.well-known/agent-card`)).status).toBe(404);
    expect(() => testApp({ compat: { path: "compat/" } })).toThrow(/compat.path/);
  });

  it("CORS for a credentialed browser client", async () => {
    const r = await serve({ corsOrigins: ["http://webapp.test"] });
    const preflight = await fetch(`${r.base}/tasks`, {
      method: "OPTIONS",
      headers: {
        origin: "http://webapp.test",
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization,content-type,x-llm-api-key",
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get("access-control-allow-origin")).toBe("http://webapp.test");
    expect(preflight.headers.get("access-control-allow-credentials")).toBe("true");
    const res = await fetch(`${r.base}/system`, {
      method: "POST",
      headers: { origin: "http://webapp.test", "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "system.health" }),
    });
    expect(res.headers.get("access-control-allow-credentials")).toBe("true");
    expect(res.headers.get("access-control-allow-origin")).toBe("http://webapp.test");
  });
});

describe("/compat request checks", () => {
  let r: Running;
  let client: WebappClient;
  beforeAll(async () => {
    r = await serve();
    client = new WebappClient(r.base);
  });
  afterAll(stopAll);

  it("names the parameter as the caller spelled it", async () => {
    await client.createTasks([{ id: "v1", name: "v", schemas: { method: "echo" } }]);
    const err = await rpcError(client.rpc("/tasks", "tasks.execute", { task_id: "v1", use_streaming: "yes" }));
    expect(err.code).toBe(-32602);
    expect(err.message).toContain("params.use_streaming");
    const hook = await rpcError(
      client.rpc("/tasks", "tasks.execute", { task_id: "v1", webhook_config: { url: "http://127.0.0.1:9/x" } }),
    );
    expect(hook.code).toBe(-32602);
    const put = await rpcError(
      client.rpc("/tasks", "tasks.execute", {
        task_id: "v1",
        webhook_config: { url: "http://127.0.0.1:9/x", method: "PUT" },
      }),
    );
    expect(put.message).toContain("POST");
    const empty = await rpcError(client.rpc("/tasks", "tasks.create", []));
    expect(empty.code).toBe(-32602);
    const note = await fetch(`${r.base}/tasks`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", method: "tasks.update", params: { task_id: "v1", name: "noted" } }),
    });
    expect(note.status).toBe(204);
    expect((await client.getTask("v1")).name).toBe("noted");
    const garbage = await fetch(`${r.base}/tasks`, { method: "POST", body: "{not json" });
    expect(garbage.status).toBe(400);
    expect(((await garbage.json()) as { error: { code: number } }).error.code).toBe(-32700);
  });

  it("tasks.copy takes the original's options; tasks.execute copy_execution runs a copy", async () => {
    await client.createTasks(webappTree("c1"));
    await client.executeTask("c1-root", true, () => undefined);
    const preview = await client.rpc<{ tasks: WebappTask[]; saved: boolean }>("/tasks", "tasks.copy", {
      task_id: "c1-root",
      copy_mode: "custom",
      custom_task_ids: ["c1-b"],
      reset_fields: ["result", "started_at"],
      save: false,
    });
    expect(preview.saved).toBe(false);
    expect(preview.tasks.length).toBeGreaterThan(0);
    for (const t of preview.tasks) {
      expect(t).not.toHaveProperty("parentId");
      expect(t).toHaveProperty("original_task_id");
    }
    const run = await client.rpc<Record<string, unknown>>("/tasks", "tasks.execute", {
      task_id: "c1-root",
      copy_execution: true,
      wait: true,
    });
    expect(run.original_task_id).toBe("c1-root");
    expect(run.root_task_id).not.toBe("c1-root");
    expect(run.status).toBe("completed");
    const copy = (await client.getTask(run.root_task_id as string)) as WebappTask;
    expect(copy.original_task_id).toBe("c1-root");
  });

  it("tasks.execute with a tasks array creates and runs them", async () => {
    const run = await client.rpc<Record<string, unknown>>("/tasks", "tasks.execute", {
      tasks: [{ name: "inline", schemas: { method: "echo" }, inputs: { z: 9 } }],
      wait: true,
    });
    expect(run.status).toBe("completed");
    const t = (await client.getTask(run.root_task_id as string)) as WebappTask & Task;
    expect(t.result).toEqual({ z: 9 });
  });
});
