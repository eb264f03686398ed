import { createServer, type Server, type Socket, connect } from "node:net";
import { Engine, type Logger, MemoryStore, Registry } from "@aipartnerupflow/core";
import { Node } from "../node.js";
import { afterEach, describe, expect, it } from "vitest";
import { AmqpTransport } from "./amqp.js";
import { NodeEventBus } from "./bus.js";
import { NatsTransport } from "./nats.js";
import { PostgresTransport } from "./postgres.js";
import { RedisTransport } from "./redis.js";
import type { WakeupTransport } from "./transport.js";
import { Wakeups } from "./wakeups.js";

/** A TCP proxy to a real server that the test can cut (the server "goes down") and restore. */
class CuttableProxy {
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  port = 0;

  constructor(private readonly target: number) {}

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target, "127.0.0.1");
      for (const s of [client, upstream]) {
        this.sockets.add(s);
        s.on("close", () => this.sockets.delete(s));
        s.on("error", () => undefined);
      }
      client.pipe(upstream).pipe(client);
    });
    await new Promise<void>((resolve) => server.listen(this.port, "127.0.0.1", () => resolve()));
    this.port = (server.address() as { port: number }).port;
    this.server = server;
  }

  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  }
}

function recordingLogger(): { logger: Logger; warnings: string[] } {
  const warnings: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn(obj, msg) {
      warnings.push(typeof obj === "string" ? obj : (msg ?? ""));
    },
    error() {},
    child() {
      return logger;
    },
  };
  return { logger, warnings };
}

const cases: Array<[string, number, (port: number) => WakeupTransport]> = [
  ["postgres", 5432, (port) => new PostgresTransport({ url: `postgres://postgres@127.0.0.1:${port}/postgres` })],
  ["redis", 6379, (port) => new RedisTransport({ url: `redis://127.0.0.1:${port}`, channel: "apflow:outage-test" })],
  ["nats", 4222, (port) => new NatsTransport({ url: `nats://127.0.0.1:${port}`, subject: "apflow.outage-test" })],
  [
    "amqp",
    5672,
    (port) => new AmqpTransport({ url: `amqp://guest:guest@127.0.0.1:${port}`, exchange: "apflow.outage-test" }),
  ],
];

describe.each(cases)("%s going down while a node runs", (_name, target, make) => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it("polls with a warning while the server is unreachable (at start and later), keeps starting work, and listens again when it is back", async () => {
    // The proxy's port is reserved, then closed: the server is unreachable when the node starts.
    const proxy = new CuttableProxy(target);
    await proxy.open();
    await proxy.cut();
    cleanup.push(() => proxy.cut());
    const store = new MemoryStore();
    const registry = new Registry();
    registry.registerExecutor({ id: "noop", execute: async () => ({ ok: true }) });
    const { logger, warnings } = recordingLogger();
    const worker = new Engine({ store, registry, pollIntervalMs: 600_000, bus: new NodeEventBus() });
    const producer = new Engine({ store, registry, claim: false, bus: new NodeEventBus() });
    const wakeups = new Wakeups(worker, make(proxy.port), { logger, fallbackPollMs: 100 });
    // Another node, connected to the server directly: what it publishes must reach the worker.
    const other = new Engine({ store, registry, claim: false, bus: new NodeEventBus() });
    const otherWakeups = new Wakeups(other, make(target), { logger: recordingLogger().logger });
    await worker.start();
    await producer.start();
    await wakeups.start();
    await other.start();
    await otherWakeups.start();
    cleanup.push(async () => {
      await otherWakeups.stop();
      await wakeups.stop();
      await worker.stop();
      await producer.stop();
      await other.stop();
    });
    const runs = async (): Promise<void> => {
      const [tree] = await producer.submit([{ name: "n", params: { executorId: "noop" } }]);
      await expect.poll(async () => (await store.getExecution(tree?.execution.id as string))?.status).toBe("completed");
    };
    const delivered = async (): Promise<void> => {
      const before = wakeups.stats.received;
      await expect
        .poll(async () => {
          await otherWakeups.transport.publish({ work: true, events: false, origin: "another node" });
          return wakeups.stats.received;
        })
        .toBeGreaterThan(before);
    };

    expect(wakeups.status).toBe("down");
    expect(wakeups.info).toMatchObject({ transport: _name, connected: false });
    expect(warnings.join("\n")).toMatch(/unreachable; polling every 100 ms/);
    await runs();

    await proxy.open();
    await expect.poll(() => wakeups.status).toBe("up");
    const up = wakeups.info;
    expect(up.connected).toBe(true);
    await delivered();

    await proxy.cut();
    await expect.poll(() => wakeups.status).toBe("down");
    expect(wakeups.info.connected).toBe(false);
    expect(wakeups.info.since.getTime()).toBeGreaterThanOrEqual(up.since.getTime());
    expect(warnings.length).toBeGreaterThanOrEqual(2);
    await runs();

    await proxy.open();
    await expect.poll(() => wakeups.status).toBe("up");
    await delivered();
  });
});

describe("a node's record shows its wake-up status", () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });

  it("Redis connected, then down (server unreachable: connected false, the node polls), then back", async () => {
    const proxy = new CuttableProxy(6379);
    await proxy.open();
    cleanup.push(() => proxy.cut());
    const store = new MemoryStore();
    const registry = new Registry();
    registry.registerExecutor({ id: "noop", execute: async () => ({ ok: true }) });
    const engine = new Engine({
      store,
      registry,
      owner: "redis-node",
      pollIntervalMs: 600_000,
      bus: new NodeEventBus(),
    });
    const node = new Node({
      engine,
      heartbeatMs: 60_000,
      deadAfterMs: 600_000,
      wakeups: new RedisTransport({ url: `redis://127.0.0.1:${proxy.port}`, channel: "apflow:status-test" }),
      logger: recordingLogger().logger,
    });
    await node.start();
    cleanup.push(() => node.stop({ graceMs: 0 }));
    // Registered, then its first beat right after the transport started.
    const first = await store.nodes.get("redis-node");
    expect(first?.wakeups).toMatchObject({ transport: "redis", connected: true });

    await proxy.cut();
    await expect.poll(() => node.wakeups?.status).toBe("down");
    const down = await node.beat();
    expect(down?.wakeups).toMatchObject({ transport: "redis", connected: false });
    expect(down?.wakeups?.since.getTime()).toBeGreaterThanOrEqual(first?.wakeups?.since.getTime() ?? 0);
    // Polling meanwhile: work submitted elsewhere still runs.
    const producer = new Engine({ store, registry, claim: false });
    await producer.start();
    cleanup.push(() => producer.stop());
    const [tree] = await producer.submit([{ name: "n", params: { executorId: "noop" } }]);
    await expect.poll(async () => (await store.getExecution(tree?.execution.id as string))?.status).toBe("completed");

    await proxy.open();
    await expect.poll(() => node.wakeups?.status).toBe("up");
    expect((await node.beat())?.wakeups).toMatchObject({ transport: "redis", connected: true });
  });

  it("a node without a transport reports polling", async () => {
    const store = new MemoryStore();
    const engine = new Engine({ store, registry: new Registry(), owner: "plain", claim: false });
    const node = new Node({ engine, heartbeatMs: 60_000, deadAfterMs: 600_000 });
    await node.start();
    cleanup.push(() => node.stop());
    expect((await store.nodes.get("plain"))?.wakeups).toMatchObject({ transport: "polling", connected: true });
  });
});
