import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { A2A_MAX_PUSH_CONFIGS, type Engine } from "@aipartnerupflow/core";
import { createPrismaStore, type PrismaTaskStore } from "@aipartnerupflow/storage-prisma";
import { Role, type Task as A2aTask, TaskState } from "@a2a-js/sdk";
import { type Client, ClientFactory, ClientFactoryOptions, JsonRpcTransportFactory } from "@a2a-js/sdk/client";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createApp } from "../app.js";
import { createToken } from "../auth/token.js";
import type { ServerHandle } from "../server.js";
import { listen, testEngine } from "../testing/fixtures.js";
import { startReceiver } from "../testing/receiver.js";
import { dataPart } from "./mapping.js";

/**
 * A2A conversation state survives a restart: a server on a SQLite file is stopped and a new one
 * started on the same file; the new one answers with the history and contextId, lists by
 * contextId and keeps delivering push notifications to a config registered before.
 */

interface Node {
  store: PrismaTaskStore;
  engine: Engine;
  server: ServerHandle;
  client: Client;
}

const dir = mkdtempSync(join(tmpdir(), "apflow-a2a-restart-"));
const url = `file:${join(dir, "apflow.db")}`;
let receiver: Awaited<ReturnType<typeof startReceiver>>;

async function startNode(): Promise<Node> {
  const store = await createPrismaStore({ url });
  const engine = testEngine(store);
  const app = createApp({ engine, webhookAllowHosts: [new URL(receiver.url).host] });
  const server = await listen(app);
  const client = await new ClientFactory().createFromUrl(server.url);
  return { store, engine, server, client };
}

async function stopNode(node: Node): Promise<void> {
  await node.engine.stop({ graceMs: 0 });
  await node.server.close();
  await node.store.close();
}

function send(
  data: unknown,
  options: { contextId?: string; taskId?: string; messageId?: string; returnImmediately?: boolean } = {},
) {
  return {
    tenant: "",
    message: {
      messageId: options.messageId ?? crypto.randomUUID(),
      contextId: options.contextId ?? "",
      taskId: options.taskId ?? "",
      role: Role.ROLE_USER,
      parts: [dataPart(data)],
      metadata: undefined,
      extensions: [],
      referenceTaskIds: [],
    },
    configuration: options.returnImmediately
      ? { acceptedOutputModes: [], taskPushNotificationConfig: undefined, returnImmediately: true }
      : undefined,
    metadata: undefined,
  };
}

const listQuery = (contextId: string) => ({
  tenant: "",
  contextId,
  status: TaskState.TASK_STATE_UNSPECIFIED,
  pageSize: 50,
  pageToken: "",
  statusTimestampAfter: undefined,
});

beforeAll(async () => {
  receiver = await startReceiver();
});
afterAll(async () => {
  await receiver.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("A2A state after a restart (SQLite file)", () => {
  it("keeps history, contextId, the context's listing and push configs", async () => {
    const first = await startNode();
    let done: A2aTask;
    let waiting: A2aTask;
    let other: A2aTask;
    try {
      done = (await first.client.sendMessage(
        send(
          { tasks: [{ name: "done", params: { executorId: "echo" }, inputs: { n: 1 } }] },
          {
            contextId: "ctx-restart",
            messageId: "msg-done",
          },
        ),
      )) as A2aTask;
      expect(done.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      // A tree that stays unfinished across the restart: its only task is due far in the future.
      waiting = (await first.client.sendMessage(
        send(
          { tasks: [{ name: "later", params: { executorId: "echo" }, runAt: "2099-01-01T00:00:00.000Z" }] },
          {
            contextId: "ctx-restart",
            messageId: "msg-later",
            returnImmediately: true,
          },
        ),
      )) as A2aTask;
      expect(waiting.status?.state).not.toBe(TaskState.TASK_STATE_COMPLETED);
      other = (await first.client.sendMessage(
        send({ tasks: [{ name: "elsewhere", params: { executorId: "echo" } }] }, { contextId: "ctx-other" }),
      )) as A2aTask;
      const created = await first.client.createTaskPushNotificationConfig({
        tenant: "",
        id: "hook-1",
        taskId: waiting.id,
        url: receiver.url,
        token: "push-token",
        authentication: undefined,
      });
      expect(created.id).toBe("hook-1");
    } finally {
      await stopNode(first);
    }

    const second = await startNode();
    try {
      const got = await second.client.getTask({ tenant: "", id: done.id, historyLength: undefined });
      expect(got.contextId).toBe("ctx-restart");
      expect(got.status?.state).toBe(TaskState.TASK_STATE_COMPLETED);
      expect(got.history.map((m) => m.messageId)).toContain("msg-done");
      const sent = got.history.find((m) => m.messageId === "msg-done");
      expect(sent?.parts[0]?.content?.$case).toBe("data");

      // The v0.3 method answers the same.
      const legacy = await fetch(`${second.server.url}/a2a`, {
        method: "POST",
        headers: { "content-type": "application/json", "A2A-Version": "0.3" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks/get", params: { id: done.id } }),
      }).then((r) => r.json() as Promise<{ result: { contextId: string; history: Array<{ messageId: string }> } }>);
      expect(legacy.result.contextId).toBe("ctx-restart");
      expect(legacy.result.history.map((m) => m.messageId)).toContain("msg-done");

      const listed = await second.client.listTasks(listQuery("ctx-restart"));
      expect(listed.tasks.map((t) => t.id).sort()).toEqual([done.id, waiting.id].sort());
      expect(listed.tasks.every((t) => t.contextId === "ctx-restart")).toBe(true);
      expect((await second.client.listTasks(listQuery("ctx-other"))).tasks.map((t) => t.id)).toEqual([other.id]);
      expect((await second.client.listTasks(listQuery("ctx-none"))).tasks).toEqual([]);

      const configs = await second.client.listTaskPushNotificationConfig({
        tenant: "",
        taskId: waiting.id,
        pageSize: 0,
        pageToken: "",
      });
      expect(configs.configs.map((c) => [c.id, c.url])).toEqual([["hook-1", receiver.url]]);

      // A message to the unfinished tree on the new server: its config receives the updates.
      const before = receiver.deliveries.length;
      await second.client.sendMessage(
        send(
          { note: "still there?" },
          {
            contextId: "ctx-restart",
            taskId: waiting.id,
            messageId: "msg-follow-up",
            returnImmediately: true,
          },
        ),
      );
      await receiver.until((d) => d.body.includes(waiting.id));
      const delivered = receiver.deliveries.slice(before).find((d) => d.body.includes(waiting.id));
      expect(delivered?.headers["x-a2a-notification-token"]).toBe("push-token");

      const again = await second.client.getTask({ tenant: "", id: waiting.id, historyLength: undefined });
      expect(again.contextId).toBe("ctx-restart");
      const ids = again.history.map((m) => m.messageId);
      expect(ids).toContain("msg-later");
      expect(ids).toContain("msg-follow-up");
    } finally {
      await stopNode(second);
    }
  }, 60_000);
});

describe("A2A state is per user (SQLite file)", () => {
  const SECRET = "test-secret-that-is-long-enough";

  async function clientAs(baseUrl: string, user: string): Promise<Client> {
    const token = await createToken({ secret: SECRET, sub: user });
    const fetchImpl: typeof fetch = (input, init) => {
      const headers = new Headers(init?.headers);
      headers.set("authorization", `Bearer ${token}`);
      return fetch(input, { ...init, headers });
    };
    const options = ClientFactoryOptions.createFrom(ClientFactoryOptions.default, {
      transports: [new JsonRpcTransportFactory({ fetchImpl })],
    });
    return new ClientFactory(options).createFromUrl(baseUrl);
  }

  it("a user never sees another's history, context listing or push configs", async () => {
    const store = await createPrismaStore({ url: `file:${join(dir, "users.db")}` });
    const engine = testEngine(store);
    const server = await listen(
      createApp({ engine, auth: { jwtSecret: SECRET }, webhookAllowHosts: [new URL(receiver.url).host] }),
    );
    try {
      const alice = await clientAs(server.url, "alice");
      const bob = await clientAs(server.url, "bob");
      const tree = (name: string) => ({ tasks: [{ name, params: { executorId: "echo" } }] });
      const hers = (await alice.sendMessage(send(tree("a"), { contextId: "shared", messageId: "m-alice" }))) as A2aTask;
      const his = (await bob.sendMessage(send(tree("b"), { contextId: "shared", messageId: "m-bob" }))) as A2aTask;
      const hook = (taskId: string, id: string) => ({
        tenant: "",
        id,
        taskId,
        url: receiver.url,
        token: "",
        authentication: undefined,
      });
      await alice.createTaskPushNotificationConfig(hook(hers.id, "alice-hook"));

      expect((await alice.listTasks(listQuery("shared"))).tasks.map((t) => t.id)).toEqual([hers.id]);
      expect((await bob.listTasks(listQuery("shared"))).tasks.map((t) => t.id)).toEqual([his.id]);
      await expect(bob.getTask({ tenant: "", id: hers.id, historyLength: undefined })).rejects.toThrow(/not found/i);
      await expect(
        bob.listTaskPushNotificationConfig({ tenant: "", taskId: hers.id, pageSize: 0, pageToken: "" }),
      ).rejects.toThrow(/not found/i);
      await expect(bob.createTaskPushNotificationConfig(hook(hers.id, "bob-hook"))).rejects.toThrow(/not found/i);
      const mine = await alice.getTask({ tenant: "", id: hers.id, historyLength: undefined });
      expect(mine.history.map((m) => m.messageId)).toContain("m-alice");
      expect(mine.history.map((m) => m.messageId)).not.toContain("m-bob");
      const configs = await alice.listTaskPushNotificationConfig({
        tenant: "",
        taskId: hers.id,
        pageSize: 0,
        pageToken: "",
      });
      expect(configs.configs.map((c) => c.id)).toEqual(["alice-hook"]);

      // Configs per task are bounded, with an error that says so.
      for (let i = 1; i < A2A_MAX_PUSH_CONFIGS; i++)
        await alice.createTaskPushNotificationConfig(hook(hers.id, `h${i}`));
      await expect(alice.createTaskPushNotificationConfig(hook(hers.id, "one-too-many"))).rejects.toThrow(
        new RegExp(`already has ${A2A_MAX_PUSH_CONFIGS} push notification configs`),
      );
    } finally {
      await engine.stop({ graceMs: 0 });
      await server.close();
      await store.close();
    }
  }, 60_000);
});
