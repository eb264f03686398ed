import { Role, type StreamResponse, type Task as A2aTask, TaskState } from "@a2a-js/sdk";
import { type Client, ClientFactory } from "@a2a-js/sdk/client";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import type { ServerHandle } from "../server.js";
import { json, listen, rpc, smallTree, testApp } from "../testing/fixtures.js";
import { dataPart } from "./mapping.js";

let server: ServerHandle;
let client: Client;
const { app, engine } = testApp();

beforeAll(async () => {
  server = await listen(app);
  client = await new ClientFactory().createFromUrl(server.url);
});
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
  await server.close();
});

function message(data: unknown, extra: { metadata?: Record<string, unknown>; taskId?: string } = {}) {
  return {
    tenant: "",
    message: {
      messageId: crypto.randomUUID(),
      contextId: "",
      taskId: extra.taskId ?? "",
      role: Role.ROLE_USER,
      parts: [dataPart(data)],
      metadata: extra.metadata,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: undefined,
    metadata: undefined,
  };
}

async function legacy(method: string, params: unknown, version = "0.3") {
  const res = await fetch(`${server.url}/a2a`, {
    method: "POST",
    headers: { "content-type": "application/json", "A2A-Version": version },
    body: JSON.stringify({ jsonrpc: "2.0", id: 7, method, params }),
  });
  return res;
}

async function legacyStream(res: Response): Promise<any[]> {
  const text = await res.text();
  return text
    .split("\n\n")
    .filter((f) => f.startsWith("data: "))
    .map((f) => JSON.parse(f.slice(6)));
}

describe("A2A v1.0 through the SDK client", () => {
  it("serves an agent card with streaming, push notifications and both protocol versions", async () => {
    const card = await client.getAgentCard();
    expect(card.capabilities?.streaming).toBe(true);
    expect(card.capabilities?.pushNotifications).toBe(true);
    expect(card.supportedInterfaces.map((i) => i.protocolVersion).sort()).toEqual(["0.3", "1.0"]);
    expect(card.supportedInterfaces[0]?.url).toBe(`${server.url}/a2a`);
    const legacyCard = await json(fetch(`${server.url}/.well-known/agent-card.json`));
    expect(legacyCard.url).toBe(`${server.url}/a2a`);
    expect(legacyCard.protocolVersion).toMatch(/^0\.3/);
  });

  it("sends a message with {tasks} and gets the finished tree back (task id = root id)", async () => {
    const result = (await client.sendMessage(message({ tasks: smallTree("s") }))) as A2aTask;
    expect(result.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const root = await engine.store.getTask(result.id);
    expect(root?.parentId).toBeNull();
    expect(root?.name).toBe("s-root");
    const got = await client.getTask({ tenant: "", id: result.id });
    expect(got.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const artifact = got.artifacts[0]?.parts[0]?.content;
    expect(artifact?.$case).toBe("data");
    const listed = await client.listTasks({
      tenant: "",
      contextId: "",
      status: TaskState.TASK_STATE_UNSPECIFIED,
      pageSize: 50,
      pageToken: "",
      statusTimestampAfter: undefined,
    });
    expect(listed.tasks.map((t) => t.id)).toContain(result.id);
  });

  it("streams one status update per task event and ends after the final one", async () => {
    const updates: StreamResponse[] = [];
    for await (const r of client.sendMessageStream(message({ tasks: smallTree("st") }))) updates.push(r);
    const statusUpdates = updates.filter((u) => u.payload?.$case === "statusUpdate");
    const rootId = (updates[0]?.payload?.value as A2aTask | undefined)?.id as string;
    const events = await engine.store.readEvents({ rootId });
    const executionEvents = events.filter((e) => e.executionId !== null);
    expect(statusUpdates).toHaveLength(executionEvents.length);
    const last = updates.at(-1)?.payload;
    expect(last?.$case).toBe("statusUpdate");
    expect(last?.$case === "statusUpdate" && last.value.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const finals = statusUpdates.filter(
      (u) => u.payload?.$case === "statusUpdate" && u.payload.value.status?.state !== TaskState.TASK_STATE_WORKING,
    );
    expect(finals).toHaveLength(1);
  });

  it("reports a failed tree as failed", async () => {
    const result = (await client.sendMessage(
      message({ tasks: [{ name: "b", params: { executorId: "boom" } }] }),
    )) as A2aTask;
    expect(result.status?.state).toBe(TaskState.TASK_STATE_FAILED);
  });

  it("cancels a running tree and resubscribes to one started elsewhere", async () => {
    const { rootId } = (await rpc(app, "tasks.create", { tasks: [{ name: "slow", params: { executorId: "wait" } }] }))
      .body.result;
    await rpc(app, "tasks.execute", { taskId: rootId });
    const stream = client.resubscribeTask({ tenant: "", id: rootId });
    const first = await stream.next();
    expect(first.value?.payload?.$case).toBe("task");
    const cancelled = await client.cancelTask({ tenant: "", id: rootId, metadata: undefined });
    expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    const rest: StreamResponse[] = [];
    for await (const r of stream) rest.push(r);
    const last = rest.at(-1)?.payload;
    expect(last?.$case === "statusUpdate" && last.value.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    await expect(client.cancelTask({ tenant: "", id: "missing", metadata: undefined })).rejects.toThrow();
  });

  it("answers a bad tree with invalid params and writes nothing", async () => {
    const before = (await engine.store.listTasks({})).total;
    await expect(
      client.sendMessage(message({ tasks: [{ name: "x", params: { executorId: "nope" } }] })),
    ).rejects.toThrow(/executor/i);
    expect((await engine.store.listTasks({})).total).toBe(before);
  });

  it("runs another operation named in metadata.method", async () => {
    const { rootId } = (await rpc(app, "tasks.create", { tasks: smallTree("m") })).body.result;
    const reply = await client.sendMessage(message({ taskId: rootId }, { metadata: { method: "tasks.get" } }));
    expect("messageId" in reply).toBe(true);
    const part = (reply as { parts: Array<{ content?: { $case: string; value: any } }> }).parts[0]?.content;
    expect(part?.value.result.id).toBe(rootId);
  });
});

describe("A2A cancel answers with the cancelled task", () => {
  const slowTree = (name: string) => ({ tasks: [{ name, params: { executorId: "wait" } }] });

  it("CancelTask (v1.0) of a tree sent without blocking", async () => {
    for (let i = 0; i < 3; i++) {
      const sent = (await client.sendMessage({
        ...message(slowTree(`nb-${i}`)),
        configuration: {
          acceptedOutputModes: [],
          taskPushNotificationConfig: undefined,
          historyLength: undefined,
          returnImmediately: true,
        },
      })) as A2aTask;
      const cancelled = await client.cancelTask({ tenant: "", id: sent.id, metadata: undefined });
      expect(cancelled.id).toBe(sent.id);
      expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
      expect((await engine.store.getTask(sent.id))?.status).toBe("cancelled");
    }
  });

  it("CancelTask (v1.0) of a tree whose stream is open", async () => {
    const stream = client.sendMessageStream(message(slowTree("streamed")));
    const first = await stream.next();
    const rootId = (first.value?.payload?.value as A2aTask | undefined)?.id as string;
    const cancelled = await client.cancelTask({ tenant: "", id: rootId, metadata: undefined });
    expect(cancelled.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    const rest: StreamResponse[] = [];
    for await (const r of stream) rest.push(r);
    const last = rest.at(-1)?.payload;
    expect(last?.$case === "statusUpdate" && last.value.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
    // Asking again answers the same cancelled task.
    const again = await client.cancelTask({ tenant: "", id: rootId, metadata: undefined });
    expect(again.status?.state).toBe(TaskState.TASK_STATE_CANCELED);
  });

  it("tasks/cancel (v0.3) of a tree sent without blocking and of one streaming", async () => {
    for (let i = 0; i < 3; i++) {
      const sent = await json(
        legacy("message/send", {
          message: {
            kind: "message",
            messageId: crypto.randomUUID(),
            role: "user",
            parts: [{ kind: "data", data: slowTree(`l-nb-${i}`) }],
          },
          configuration: { blocking: false },
        }),
      );
      expect(sent.result.kind).toBe("task");
      const cancelled = await json(legacy("tasks/cancel", { id: sent.result.id }));
      expect(cancelled.error).toBeUndefined();
      expect(cancelled.result.id).toBe(sent.result.id);
      expect(cancelled.result.status.state).toBe("canceled");
    }
    const res = await legacy("message/stream", {
      message: {
        kind: "message",
        messageId: crypto.randomUUID(),
        role: "user",
        parts: [{ kind: "data", data: slowTree("l-stream") }],
      },
    });
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const chunk = new TextDecoder().decode((await reader.read()).value);
    const rootId = JSON.parse(
      chunk
        .split("\n")
        .find((l) => l.startsWith("data: "))
        ?.slice(6) ?? "{}",
    ).result.id;
    const cancelled = await json(legacy("tasks/cancel", { id: rootId }));
    expect(cancelled.result.status.state).toBe("canceled");
    await reader.cancel();
  });
});

describe("A2A blocking SendMessage carries the tree's answer", () => {
  it("a completed tree: the root's result as an artifact", async () => {
    const tree = [{ name: "answer", params: { executorId: "echo" }, inputs: { answer: 42, unit: "things" } }];
    const result = (await client.sendMessage(message({ tasks: tree }))) as A2aTask;
    expect(result.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
    const artifact = result.artifacts.find((a) => a.artifactId === "result");
    const part = artifact?.parts[0]?.content;
    expect(part?.$case === "data" && part.value).toEqual({ answer: 42, unit: "things" });
    expect(result.artifacts.map((a) => a.artifactId)).toContain("tree-result");
    // GetTask answers the same artifacts.
    const got = await client.getTask({ tenant: "", id: result.id });
    expect(got.artifacts.map((a) => a.artifactId)).toEqual(result.artifacts.map((a) => a.artifactId));
  });

  it("a failed tree: its error in the status message", async () => {
    const result = (await client.sendMessage(
      message({ tasks: [{ name: "fails", params: { executorId: "boom" } }] }),
    )) as A2aTask;
    expect(result.status?.state).toBe(TaskState.TASK_STATE_FAILED);
    const parts = result.status?.message?.parts ?? [];
    const text = parts.find((p) => p.content?.$case === "text")?.content?.value as string;
    expect(text).toContain("BOOM");
    expect(text).toContain("exploded on purpose");
    const data = parts.find((p) => p.content?.$case === "data")?.content?.value as { error?: { code: string } };
    expect(data.error?.code).toBe("BOOM");
    expect(result.artifacts.find((a) => a.artifactId === "result")).toBeUndefined();
  });

  it("v0.3 message/send carries the same", async () => {
    const sent = await json(
      legacy("message/send", {
        message: {
          kind: "message",
          messageId: crypto.randomUUID(),
          role: "user",
          parts: [
            { kind: "data", data: { tasks: [{ name: "v03", params: { executorId: "echo" }, inputs: { v: 3 } }] } },
          ],
        },
      }),
    );
    const artifact = sent.result.artifacts.find((a: { artifactId: string }) => a.artifactId === "result");
    expect(artifact.parts[0].data).toEqual({ v: 3 });
  });
});

describe("A2A v0.3 method names (raw requests)", () => {
  const v03Message = (data: unknown) => ({
    message: { kind: "message", messageId: crypto.randomUUID(), role: "user", parts: [{ kind: "data", data }] },
  });

  it("message/send, tasks/get and tasks/cancel", async () => {
    const sent = await json(legacy("message/send", v03Message({ tasks: smallTree("l") })));
    expect(sent.result.kind).toBe("task");
    expect(sent.result.status.state).toBe("completed");
    const got = await json(legacy("tasks/get", { id: sent.result.id }));
    expect(got.result.status.state).toBe("completed");
    const notCancelable = await json(legacy("tasks/cancel", { id: sent.result.id }));
    expect(notCancelable.error.code).toBe(-32002);
    const missing = await json(legacy("tasks/get", { id: "nope" }));
    expect(missing.error.code).toBe(-32001);
  });

  it("message/stream ends with a final completed status-update", async () => {
    const frames = await legacyStream(await legacy("message/stream", v03Message({ tasks: smallTree("ls") })));
    const last = frames.at(-1).result;
    expect(last.kind).toBe("status-update");
    expect(last.final).toBe(true);
    expect(last.status.state).toBe("completed");
    expect(frames.filter((f) => f.result.final === true)).toHaveLength(1);
  });

  it("tasks/resubscribe follows a running tree until cancelled", async () => {
    const { rootId } = (await rpc(app, "tasks.create", { tasks: [{ name: "slow03", params: { executorId: "wait" } }] }))
      .body.result;
    await rpc(app, "tasks.execute", { taskId: rootId });
    const res = await legacy("tasks/resubscribe", { id: rootId });
    const framesP = legacyStream(res);
    const cancel = await json(legacy("tasks/cancel", { id: rootId }));
    expect(cancel.result.status.state).toBe("canceled");
    const frames = await framesP;
    expect(frames[0].result.kind).toBe("task");
    expect(frames.at(-1).result.status.state).toBe("canceled");
  });

  it("an unknown method is -32601", async () => {
    const res = await json(legacy("tasks/nope", {}));
    expect(res.error.code).toBe(-32601);
  });
});

describe("internal errors", () => {
  const SECRET = "SQLITE_IOERR: disk I/O error at /var/lib/apflow/db.sqlite (user=svc)";

  it("leave A2A v0.3, v1.0 and MCP resources as a generic internal error", async () => {
    const { app: broken, engine: brokenEngine } = testApp();
    brokenEngine.store.getTask = () => Promise.reject(new Error(SECRET));
    try {
      for (const [version, method] of [
        ["0.3", "tasks/get"],
        ["1.0", "GetTask"],
      ] as const) {
        const res = await broken.request("/a2a", {
          method: "POST",
          headers: { "content-type": "application/json", "A2A-Version": version },
          body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, params: { id: "abc" } }),
        });
        const text = await res.text();
        expect(JSON.parse(text).error?.code, version).toBe(-32603);
        expect(JSON.parse(text).error?.message, version).toBe("internal error");
        for (const part of ["SQLITE", "disk", "/var/lib", "svc"]) expect(text, version).not.toContain(part);
      }
      const mcp = await broken.request("/mcp", {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "resources/read", params: { uri: "task://abc" } }),
      });
      const text = await mcp.text();
      expect(text).toContain("internal error");
      for (const part of ["SQLITE", "disk", "/var/lib", "svc"]) expect(text).not.toContain(part);
    } finally {
      await brokenEngine.stop({ graceMs: 0 });
    }
  });

  it("a context without our user has no access (fails closed)", async () => {
    const { principalOf } = await import("./user.js");
    expect(principalOf(undefined)).toEqual({ userId: null, admin: false, authenticated: false });
  });
});

describe("streams whose client leaves", () => {
  it("stop following the tree (resubscribe and an already executing tree)", { timeout: 60_000 }, async () => {
    const { app: local, engine: localEngine } = testApp();
    const bus = localEngine.bus as unknown as { listenerCount: number };
    try {
      const { rootId } = (
        await rpc(local, "tasks.create", { tasks: [{ name: "long", params: { executorId: "wait" } }] })
      ).body.result;
      expect((await rpc(local, "tasks.execute", { taskId: rootId })).status).toBe(200);
      const baseline = bus.listenerCount;
      const open = (method: string, params: unknown, version = "0.3") =>
        local.request("/a2a", {
          method: "POST",
          headers: { "content-type": "application/json", "A2A-Version": version },
          body: JSON.stringify({ jsonrpc: "2.0", id: 9, method, params }),
        });
      const streams = [
        () => open("tasks/resubscribe", { id: rootId }),
        () => open("SubscribeToTask", { id: rootId }, "1.0"),
        () =>
          open("message/stream", {
            message: { kind: "message", messageId: crypto.randomUUID(), role: "user", taskId: rootId, parts: [] },
          }),
      ];
      for (const start of streams) {
        const res = await start();
        expect(res.headers.get("content-type")).toContain("text/event-stream");
        const reader = (res.body as ReadableStream<Uint8Array>).getReader();
        await reader.read();
        await vi.waitFor(() => expect(bus.listenerCount).toBeGreaterThan(baseline), { timeout: 10_000 });
        await reader.cancel();
        await vi.waitFor(() => expect(bus.listenerCount).toBe(baseline), { timeout: 10_000 });
      }
    } finally {
      await localEngine.stop({ graceMs: 0 });
    }
  });
});
