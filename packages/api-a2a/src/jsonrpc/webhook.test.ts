import { Role } from "@a2a-js/sdk";
import { ClientFactory } from "@a2a-js/sdk/client";
import { afterEach, describe, expect, it } from "vitest";
import { dataPart } from "../a2a/mapping.js";
import { listen, rpc, smallTree, testApp } from "../testing/fixtures.js";
import { startReceiver } from "../testing/receiver.js";
import { SIGNATURE_HEADER, signBody } from "./webhook.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("tasks.execute webhooks", () => {
  it("POSTs every event, signed, and retries after a 500", async () => {
    const receiver = await startReceiver((n) => (n === 1 ? 500 : 200));
    cleanups.push(receiver.close);
    const { app, engine } = testApp({ webhooks: { secret: "s3cret", retryDelayMs: 10 } });
    cleanups.push(() => engine.stop({ graceMs: 0 }));
    const { rootId } = (await rpc(app, "tasks.create", { tasks: smallTree("w") })).body.result;
    const started = await rpc(app, "tasks.execute", {
      taskId: rootId,
      webhook: { url: receiver.url, headers: { "x-extra": "1" } },
    });
    expect(started.status).toBe(200);
    await receiver.until((d) => d.status === 200 && JSON.parse(d.body).event.type === "tree.finished");
    await app.apflow.webhooks.drain();

    const first = receiver.deliveries[0];
    const second = receiver.deliveries[1];
    expect(first?.status).toBe(500);
    expect(second?.body).toBe(first?.body);
    for (const d of receiver.deliveries) {
      expect(d.headers[SIGNATURE_HEADER]).toBe(signBody("s3cret", d.body));
      expect(d.headers["x-extra"]).toBe("1");
    }
    const delivered = receiver.deliveries.filter((d) => d.status === 200).map((d) => JSON.parse(d.body).event);
    const stored = (await engine.store.readEvents({ rootId })).filter((e) => e.executionId !== null);
    expect(delivered.map((e) => e.seq)).toEqual(stored.map((e) => e.seq));
    expect(delivered.filter((e) => e.type === "tree.finished")).toHaveLength(1);
  });

  it("refuses a webhook URL that is not http(s)", async () => {
    const { app, engine } = testApp();
    cleanups.push(() => engine.stop({ graceMs: 0 }));
    const { rootId } = (await rpc(app, "tasks.create", { tasks: smallTree("x") })).body.result;
    const res = await rpc(app, "tasks.execute", { taskId: rootId, webhook: { url: "file:///etc/passwd" } });
    expect(res.status).toBe(400);
    expect(res.body.error?.data.errors[0].path).toContain("webhook");
  });
});

describe("A2A push notifications", () => {
  it("delivers the stream's updates to the configured URL", async () => {
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const { app, engine } = testApp();
    cleanups.push(() => engine.stop({ graceMs: 0 }));
    const server = await listen(app);
    cleanups.push(server.close);
    const client = await new ClientFactory().createFromUrl(server.url);
    const result = await client.sendMessage({
      tenant: "",
      message: {
        messageId: crypto.randomUUID(),
        contextId: "",
        taskId: "",
        role: Role.ROLE_USER,
        parts: [dataPart({ tasks: smallTree("p") })],
        metadata: undefined,
        extensions: [],
        referenceTaskIds: [],
      },
      configuration: {
        acceptedOutputModes: [],
        historyLength: undefined,
        returnImmediately: false,
        taskPushNotificationConfig: {
          tenant: "",
          id: "cfg1",
          taskId: "",
          url: receiver.url,
          token: "tok",
          authentication: undefined,
        },
      },
      metadata: undefined,
    });
    const taskId = "id" in result ? result.id : "";
    await receiver.until((d) => d.body.includes("TASK_STATE_COMPLETED") || d.body.includes('"completed"'));
    // One delivery per streamed response (the task, then one per event); they are sent in parallel.
    const expected =
      1 + (await engine.store.readEvents({ rootId: taskId })).filter((e) => e.executionId !== null).length;
    await receiver.until(() => receiver.deliveries.length >= expected);
    expect(receiver.deliveries).toHaveLength(expected);
    expect(receiver.deliveries.every((d) => d.body.includes(taskId))).toBe(true);
    expect(receiver.deliveries[0]?.headers["x-a2a-notification-token"]).toBe("tok");
  });
});
