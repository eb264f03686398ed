import { Role } from "@a2a-js/sdk";
import { ClientFactory } from "@a2a-js/sdk/client";
import { afterEach, describe, expect, it } from "vitest";
import { dataPart } from "../a2a/mapping.js";
import { listen, rpc, smallTree, testApp } from "../testing/fixtures.js";
import { startReceiver } from "../testing/receiver.js";
import { OutboundGuard, OutboundRefused, isInternalAddress } from "./outbound.js";
import { SIGNATURE_HEADER, signBody } from "./webhook.js";

const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe("tasks.execute webhooks", () => {
  it("POSTs every event, signed, and retries after a 500", async () => {
    const receiver = await startReceiver((n) => (n === 1 ? 500 : 200));
    cleanups.push(receiver.close);
    const { app, engine } = testApp({
      webhooks: { secret: "s3cret", retryDelayMs: 10 },
      webhookAllowHosts: ["127.0.0.1"],
    });
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

describe("webhook shutdown", () => {
  it("close() stops a delivery whose tree never finishes", async () => {
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const { app, engine } = testApp({ webhookAllowHosts: ["127.0.0.1"] });
    const { rootId } = (
      await rpc(app, "tasks.create", { tasks: [{ name: "forever", params: { executorId: "wait" } }] })
    ).body.result;
    const started = await rpc(app, "tasks.execute", { taskId: rootId, webhook: { url: receiver.url } });
    expect(started.status).toBe(200);
    await receiver.until(() => receiver.deliveries.length > 0);
    await engine.stop({ graceMs: 0 });
    // The tree was handed back unfinished: its events never end, yet close() resolves.
    await app.apflow.webhooks.close();
    expect((await engine.store.getTask(rootId))?.status).not.toBe("completed");
    // A delivery started after close() does not run.
    app.apflow.webhooks.deliver({ url: receiver.url }, () => {
      throw new Error("must not open");
    });
    await app.apflow.webhooks.drain();
  });
});

describe("webhook destinations (SSRF)", () => {
  it("refuses loopback without the allow-list, and the metadata address even with it", async () => {
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const { app, engine } = testApp();
    cleanups.push(() => engine.stop({ graceMs: 0 }));
    const { rootId } = (await rpc(app, "tasks.create", { tasks: smallTree("ssrf") })).body.result;
    for (const url of [
      receiver.url,
      "http://169.254.169.254/latest/meta-data/",
      "http://[::1]:9/x",
      "http://[::ffff:7f00:1]:9/x",
      "http://10.1.2.3/x",
      "http://0.0.0.0:9/x",
      "http://localhost:9/x",
    ]) {
      const res = await rpc(app, "tasks.execute", { taskId: rootId, webhook: { url } });
      expect(res.status, url).toBe(400);
      expect(res.body.error?.code, url).toBe(-32602);
      expect(res.body.error?.message, url).toMatch(/internal address/);
    }
    expect((await engine.store.getTask(rootId))?.status).toBe("pending");
    expect(receiver.deliveries).toHaveLength(0);

    const allowed = testApp({ webhookAllowHosts: ["127.0.0.1"] });
    cleanups.push(() => allowed.engine.stop({ graceMs: 0 }));
    const tree = (await rpc(allowed.app, "tasks.create", { tasks: smallTree("meta") })).body.result;
    const meta = await rpc(allowed.app, "tasks.execute", {
      taskId: tree.rootId,
      webhook: { url: "http://169.254.169.254/latest/meta-data/" },
    });
    expect(meta.body.error?.code).toBe(-32602);
  });

  it("refuses hop-by-hop and credential headers", async () => {
    const { app, engine } = testApp({ webhookAllowHosts: ["127.0.0.1"] });
    cleanups.push(() => engine.stop({ graceMs: 0 }));
    const { rootId } = (await rpc(app, "tasks.create", { tasks: smallTree("hdr") })).body.result;
    for (const name of ["Host", "connection", "Content-Length", "transfer-encoding", "Cookie", "Proxy-Authorization"]) {
      const res = await rpc(app, "tasks.execute", {
        taskId: rootId,
        webhook: { url: "http://127.0.0.1:9/x", headers: { [name]: "v" } },
      });
      expect(res.body.error?.code, name).toBe(-32602);
    }
  });

  it("checks the resolved addresses at delivery and honours host:port entries", async () => {
    const rebinding = new OutboundGuard({ resolve: async () => [{ address: "169.254.169.254", family: 4 }] });
    await expect(
      rebinding.post("http://hooks.example.test/x", { headers: {}, body: "{}", timeoutMs: 1000 }),
    ).rejects.toBeInstanceOf(OutboundRefused);
    expect(await rebinding.problem("http://hooks.example.test/x")).toMatch(/internal address/);
    const mixed = new OutboundGuard({
      resolve: async () => [
        { address: "93.184.216.34", family: 4 },
        { address: "fd00::1", family: 6 },
      ],
    });
    expect(await mixed.problem("https://hooks.example.test/x")).toMatch(/internal address/);

    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const port = new URL(receiver.url).port;
    const byPort = new OutboundGuard({ allowHosts: [`127.0.0.1:${port}`] });
    expect(await byPort.problem(receiver.url)).toBeUndefined();
    expect(await byPort.problem(`http://127.0.0.1:${Number(port) === 65535 ? 1 : Number(port) + 1}/x`)).toMatch(
      /internal address/,
    );
    expect((await byPort.post(receiver.url, { headers: {}, body: "{}", timeoutMs: 5000 })).status).toBe(200);
    expect(receiver.deliveries).toHaveLength(1);

    for (const ip of ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.0.1", "169.254.1.1", "::1", "fe80::1", "fc00::1"])
      expect(isInternalAddress(ip), ip).toBe(true);
    for (const ip of ["93.184.216.34", "2606:4700::1111", "172.32.0.1"]) expect(isInternalAddress(ip), ip).toBe(false);
  });
});

describe("A2A push notifications", () => {
  it("refuses a push notification URL on an internal address", async () => {
    const { app, engine } = testApp();
    cleanups.push(() => engine.stop({ graceMs: 0 }));
    const { rootId } = (await rpc(app, "tasks.create", { tasks: smallTree("pn") })).body.result;
    const res = await app.request("/a2a", {
      method: "POST",
      headers: { "content-type": "application/json", "A2A-Version": "0.3" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: 1,
        method: "tasks/pushNotificationConfig/set",
        params: { taskId: rootId, pushNotificationConfig: { url: "http://169.254.169.254/latest" } },
      }),
    });
    const body = (await res.json()) as { error?: { code: number; message: string } };
    expect(body.error?.code).toBe(-32602);
    expect(body.error?.message).toMatch(/internal address/);
  });

  it("delivers the stream's updates to the configured URL", async () => {
    const receiver = await startReceiver();
    cleanups.push(receiver.close);
    const { app, engine } = testApp({ webhookAllowHosts: [new URL(receiver.url).host] });
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
