import { Engine, MemoryStore, type TaskEvent, TaskFailure } from "@aipartnerupflow/core";
import { afterEach, describe, expect, it } from "vitest";
import { parseSse } from "../client/sse.js";
import { json, rpc, smallTree, testApp, testRegistry } from "../testing/fixtures.js";

const engines: Array<{ stop(options?: { graceMs?: number }): Promise<void> }> = [];
function setup(overrides: Parameters<typeof testApp>[0] = {}) {
  const t = testApp(overrides);
  engines.push(t.engine);
  return t;
}
afterEach(async () => {
  for (const e of engines.splice(0)) await e.stop({ graceMs: 0 });
});

async function sseEvents(res: Response): Promise<Array<{ event: string; data: any; id?: string }>> {
  const out = [];
  for await (const m of parseSse(res.body as ReadableStream<Uint8Array>))
    out.push({ event: m.event, data: JSON.parse(m.data), ...(m.id ? { id: m.id } : {}) });
  return out;
}

function post(app: ReturnType<typeof setup>["app"], body: unknown, headers: Record<string, string> = {}) {
  return app.request("/tasks", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

describe("JSON-RPC task API", () => {
  it("creates, reads, lists, counts and runs a tree through every read method", async () => {
    const { app } = setup();
    const created = await rpc(app, "tasks.create", { tasks: smallTree() });
    expect(created.status).toBe(200);
    const { rootId, tasks } = created.body.result;
    expect(tasks).toHaveLength(3);

    const done = await rpc(app, "tasks.execute", { task_id: rootId, wait: true });
    expect(done.body.result.status).toBe("completed");

    const root = await rpc(app, "tasks.get", { taskId: rootId });
    expect(root.body.result.status).toBe("completed");
    expect(root.body.result.result.count).toBe(2);

    const detail = await rpc(app, "tasks.detail", { id: rootId });
    expect(detail.body.result.attempts).toHaveLength(1);
    expect(detail.body.result.executions[0].status).toBe("completed");

    const tree = await rpc(app, "tasks.tree", { root_id: rootId });
    expect(tree.body.result.tree.children.map((c: { name: string }) => c.name).sort()).toEqual(["t-a", "t-b"]);
    const flat = await rpc(app, "tasks.tree", { taskId: rootId, format: "flat" });
    expect(flat.body.result.tasks).toHaveLength(3);

    const children = await rpc(app, "tasks.children", { parent_id: rootId });
    expect(children.body.result.tasks).toHaveLength(2);

    const list = await rpc(app, "tasks.list", { rootsOnly: true });
    expect(list.body.result.total).toBe(1);
    const count = await rpc(app, "tasks.count", {});
    expect(count.body.result.counts.completed).toBe(3);
    expect(count.body.result.total).toBe(3);

    const events = await rpc(app, "tasks.events", { rootId, afterSeq: 0 });
    const types = events.body.result.events.map((e: TaskEvent) => e.type);
    expect(types.filter((t: string) => t === "tree.finished")).toHaveLength(1);
    const after = await rpc(app, "tasks.events", { rootId, afterSeq: events.body.result.lastSeq });
    expect(after.body.result.events).toEqual([]);

    const stats = await rpc(app, "tasks.queue.stats");
    expect(stats.body.result.counts.completed).toBe(3);
    const executors = await rpc(app, "executors.list");
    expect(executors.body.result.executors.map((e: { id: string }) => e.id)).toContain("echo");
    const health = await rpc(app, "system.health");
    expect(health.body.result.status).toBe("ok");
    const methods = await json(app.request("/tasks/methods"));
    expect(methods.methods.map((m: { name: string }) => m.name)).toContain("tasks.running.count");
  });

  it("accepts the bare array for tasks.create and snake_case task fields", async () => {
    const { app } = setup();
    const res = await rpc(app, "tasks.create", [
      { id: "r1", name: "root", params: { executorId: "echo" } },
      { name: "child", parent_id: "r1", params: { executorId: "echo" } },
    ]);
    expect(res.body.result.rootId).toBe("r1");
    expect(res.body.result.tasks.find((t: { name: string }) => t.name === "child").parentId).toBe("r1");
  });

  it("updates, copies, deletes and cancels", async () => {
    const { app, engine } = setup();
    const { rootId } = (await rpc(app, "tasks.create", { tasks: smallTree() })).body.result;
    const updated = await rpc(app, "tasks.update", { taskId: rootId, priority: 0, metadata: { tag: "x" } });
    expect(updated.body.result.priority).toBe(0);
    expect(updated.body.result.metadata).toEqual({ tag: "x" });

    await rpc(app, "tasks.execute", { taskId: rootId, wait: true });
    const copy = await rpc(app, "tasks.copy", { taskId: rootId, mode: "full" });
    expect(copy.body.result.saved).toBe(true);
    expect(copy.body.result.tasks).toHaveLength(3);
    const copyRoot = copy.body.result.rootId;
    expect(copyRoot).not.toBe(rootId);
    const unsaved = await rpc(app, "tasks.copy", { taskId: rootId, save: false });
    expect(unsaved.body.result.rootId).toBeNull();

    const deleted = await rpc(app, "tasks.delete", { taskId: copyRoot });
    expect(deleted.body.result.deleted).toHaveLength(3);
    expect((await rpc(app, "tasks.get", { taskId: copyRoot })).body.error?.code).toBe(-32001);

    const slow = await rpc(app, "tasks.create", { tasks: [{ name: "slow", params: { executorId: "wait" } }] });
    const slowId = slow.body.result.rootId;
    const started = await rpc(app, "tasks.execute", { taskId: slowId });
    expect(started.body.result.status).toBe("running");
    const again = await rpc(app, "tasks.execute", { taskId: slowId });
    expect(again.status).toBe(409);
    expect(again.body.error?.code).toBe(-32008);
    const running = await rpc(app, "tasks.running.list", {});
    expect(running.body.result.executions.map((e: { rootId: string }) => e.rootId)).toContain(slowId);
    expect((await rpc(app, "tasks.running.count")).body.result.count).toBe(1);
    const status = await rpc(app, "tasks.running.status", { task_ids: [slowId, "nope"] });
    expect(status.body.result.statuses[0].running).toBe(true);
    expect(status.body.result.statuses[1].found).toBe(false);
    const cancelled = await rpc(app, "tasks.cancel", { taskId: slowId });
    expect(cancelled.status).toBe(200);
    const outcome = await engine.wait(started.body.result.executionId);
    expect(outcome.status).toBe("cancelled");
    expect((await rpc(app, "tasks.get", { taskId: slowId })).body.result.status).toBe("cancelled");
  });

  it("streams exactly one final event for a completed, a failed and a cancelled tree", async () => {
    const { app } = setup();
    const make = async (executorId: string) =>
      (await rpc(app, "tasks.create", { tasks: [{ name: executorId, params: { executorId } }] })).body.result
        .rootId as string;

    for (const [executor, expected] of [
      ["echo", "completed"],
      ["boom", "failed"],
    ] as const) {
      const res = await post(app, {
        jsonrpc: "2.0",
        id: 1,
        method: "tasks.execute",
        params: { taskId: await make(executor), stream: true },
      });
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      const frames = await sseEvents(res);
      expect(frames[0]?.event).toBe("execution");
      const finals = frames.filter((f) => f.event === "tree.finished");
      expect(finals).toHaveLength(1);
      expect(finals[0]?.data.status).toBe(expected);
      expect(frames.at(-1)?.event).toBe("tree.finished");
      expect(frames.slice(1).every((f) => f.id === String(f.data.seq))).toBe(true);
    }

    const slowId = await make("wait");
    const res = await post(app, {
      jsonrpc: "2.0",
      id: 1,
      method: "tasks.execute",
      params: { taskId: slowId, stream: true },
    });
    const reader = parseSse(res.body as ReadableStream<Uint8Array>);
    const seen: string[] = [];
    for await (const m of reader) {
      seen.push(m.event);
      if (m.event === "task.started") await rpc(app, "tasks.cancel", { taskId: slowId });
    }
    expect(seen.filter((e) => e === "tree.finished")).toHaveLength(1);
    expect(seen.at(-1)).toBe("tree.finished");
    const tree = await rpc(app, "tasks.get", { taskId: slowId });
    expect(tree.body.result.status).toBe("cancelled");
  });

  it("resumes a stream after Last-Event-ID and follows tasks.events live", async () => {
    const { app } = setup();
    const { rootId } = (await rpc(app, "tasks.create", { tasks: smallTree() })).body.result;
    const frames = await sseEvents(
      await post(app, { jsonrpc: "2.0", id: 1, method: "tasks.execute", params: { taskId: rootId, stream: true } }),
    );
    const events = frames.filter((f) => f.event !== "execution");
    const middle = events[2]?.data.seq as number;
    const resumed = await sseEvents(
      await post(
        app,
        { jsonrpc: "2.0", id: 2, method: "tasks.execute", params: { taskId: rootId, stream: true } },
        { "last-event-id": String(middle) },
      ),
    );
    const resumedEvents = resumed.filter((f) => f.event !== "execution");
    expect(resumedEvents.map((f) => f.data.seq)).toEqual(events.slice(3).map((f) => f.data.seq));
    expect(resumed[0]?.data.executionId).toBe(frames[0]?.data.executionId);

    const replay = await sseEvents(
      await post(app, { jsonrpc: "2.0", id: 3, method: "tasks.events", params: { rootId, stream: true } }),
    );
    expect(replay.filter((f) => f.event === "tree.finished")).toHaveLength(1);
  });

  it("passes X-LLM-API-KEY to executors as secrets and never stores them", async () => {
    const { app, engine } = setup();
    const { rootId } = (
      await rpc(app, "tasks.create", { tasks: [{ name: "s", params: { executorId: "secret_echo" } }] })
    ).body.result;
    const done = await rpc(
      app,
      "tasks.execute",
      { taskId: rootId, wait: true },
      { "x-llm-api-key": "anthropic:sk-test-123" },
    );
    expect(done.body.result.tasks[0].result).toEqual({ secrets: ["llm:anthropic"] });
    const stored =
      JSON.stringify(await engine.store.readEvents({ rootId })) + JSON.stringify(await engine.store.getTree(rootId));
    expect(stored).not.toContain("sk-test-123");
  });

  it("serves the OpenAPI document, the docs page and health", async () => {
    const { app } = setup();
    const doc = await json(app.request("/openapi.json"));
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.components.schemas.tasks_execute_params.properties.stream).toBeDefined();
    const docs = await app.request("/docs");
    expect(docs.headers.get("content-type")).toContain("text/html");
    expect(await docs.text()).not.toMatch(/https?:\/\//);
    expect((await app.request("/health")).status).toBe(200);
  });
});

describe("bad requests get the right code and never a 500", () => {
  it.each([
    ["malformed JSON", "{not json", 400, -32700],
    ["not an object", "42", 400, -32600],
    ["missing jsonrpc", JSON.stringify({ id: 1, method: "tasks.get" }), 400, -32600],
    ["empty batch", "[]", 400, -32600],
    ["unknown method", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks.nope" }), 404, -32601],
    [
      "wrong param type",
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks.get", params: { taskId: 5 } }),
      400,
      -32602,
    ],
    ["params not an object", JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks.get", params: "x" }), 400, -32602],
    [
      "unknown task",
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks.get", params: { taskId: "missing" } }),
      404,
      -32001,
    ],
    [
      "empty tree",
      JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks.create", params: { tasks: [] } }),
      400,
      -32602,
    ],
  ])("%s", async (_name, body, status, code) => {
    const { app } = setup();
    const res = await post(app, body);
    expect(res.status).toBe(status);
    const reply = await json(res);
    expect(reply.error.code).toBe(code);
    expect(JSON.stringify(reply)).not.toContain("at ");
  });

  it("reports a cyclic tree with the cycle path and writes nothing", async () => {
    const { app, engine } = setup();
    const res = await rpc(app, "tasks.create", {
      tasks: [
        { name: "root", params: { executorId: "echo" } },
        { name: "a", parentId: "root", dependencies: ["b"], params: { executorId: "echo" } },
        { name: "b", parentId: "root", dependencies: ["a"], params: { executorId: "echo" } },
      ],
    });
    expect(res.status).toBe(400);
    expect([-32002, -32602, -32012]).toContain(res.body.error?.code);
    expect(JSON.stringify(res.body.error)).toMatch(/a -> b -> a|b -> a -> b/);
    expect((await engine.store.listTasks({})).total).toBe(0);
  });

  it("refuses an unknown executor with structured errors", async () => {
    const { app } = setup();
    const res = await rpc(app, "tasks.create", { tasks: [{ name: "x", params: { executorId: "does_not_exist" } }] });
    expect(res.status).toBe(400);
    expect(res.body.error?.data.errors[0]).toMatchObject({
      path: expect.any(String),
      code: expect.any(String),
      message: expect.any(String),
    });
  });

  it("answers 413 for a huge body", async () => {
    const { app } = setup({ bodyLimitBytes: 1024 });
    const res = await post(app, {
      jsonrpc: "2.0",
      id: 1,
      method: "tasks.create",
      params: { tasks: [{ name: "x".repeat(5000) }] },
    });
    expect(res.status).toBe(413);
    expect((await json(res)).error.code).toBe(-32600);
  });

  it("answers a batch with one reply per request", async () => {
    const { app } = setup();
    const res = await post(app, [
      { jsonrpc: "2.0", id: 1, method: "system.health" },
      { jsonrpc: "2.0", id: 2, method: "tasks.nope" },
    ]);
    const body = await json(res);
    expect(body[0].result.status).toBe("ok");
    expect(body[1].error.code).toBe(-32601);
  });

  it("rate-limits per caller with 429 and Retry-After", async () => {
    const { app } = setup({ rateLimit: { burst: 2, perSecond: 0.001 } });
    const codes = [];
    for (let i = 0; i < 3; i++) codes.push((await rpc(app, "system.health")).status);
    expect(codes).toEqual([200, 200, 429]);
    const res = await post(app, { jsonrpc: "2.0", id: 1, method: "system.health" });
    expect(res.headers.get("retry-after")).toBeTruthy();
  });
});

describe("JSON-RPC notifications", () => {
  it("get no response: 204 for a single one, no entry in a batch, 204 for a batch of only notifications", async () => {
    const { app } = setup();
    const single = await post(app, { jsonrpc: "2.0", method: "tasks.create", params: { tasks: smallTree("n1") } });
    expect(single.status).toBe(204);
    expect(await single.text()).toBe("");
    // It did run.
    expect((await rpc(app, "tasks.count", { rootsOnly: true })).body.result.total).toBe(1);
    // Even a failing notification is answered with nothing.
    const failing = await post(app, { jsonrpc: "2.0", method: "no.such.method" });
    expect(failing.status).toBe(204);
    expect(await failing.text()).toBe("");

    const batch = await post(app, [
      { jsonrpc: "2.0", method: "system.health" },
      { jsonrpc: "2.0", id: 2, method: "system.health" },
      { jsonrpc: "2.0", method: "no.such.method" },
      { jsonrpc: "2.0", id: null, method: "system.health" },
    ]);
    expect(batch.status).toBe(200);
    const entries = (await batch.json()) as Array<{ id: unknown }>;
    expect(entries.map((e) => e.id)).toEqual([2, null]);

    const onlyNotifications = await post(app, [
      { jsonrpc: "2.0", method: "system.health" },
      { jsonrpc: "2.0", method: "system.health" },
    ]);
    expect(onlyNotifications.status).toBe(204);
    expect(await onlyNotifications.text()).toBe("");
  });
});

describe("tasks.generate failures", () => {
  function generating(code: string, message: string) {
    const registry = testRegistry();
    registry.registerExecutor({
      id: "generate_tree",
      execute: () => {
        throw new TaskFailure(code, message, { retryable: false });
      },
    });
    return setup({ engine: new Engine({ store: new MemoryStore(), registry, pollIntervalMs: 50 }) });
  }

  it("are -32602 with the reason when the input was invalid", async () => {
    const { app } = generating("INVALID_TREE", "the generated tree names an unknown executor");
    const res = await rpc(app, "tasks.generate", { requirement: "do things" });
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: -32602, message: "the generated tree names an unknown executor" });
  });

  it("are a generic -32603 otherwise", async () => {
    const { app } = generating(
      "LLM_API_ERROR",
      "provider 500 from https://internal-llm.corp:8443 with key sk-live-123",
    );
    const res = await rpc(app, "tasks.generate", { requirement: "do things" });
    expect(res.status).toBe(500);
    expect(res.body.error?.code).toBe(-32603);
    expect(res.body.error?.message).toBe("internal error");
    expect(JSON.stringify(res.body)).not.toMatch(/internal-llm|sk-live|provider/);
  });
});
