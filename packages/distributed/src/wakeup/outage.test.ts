import { createServer, type Server, type Socket, connect } from "node:net";
import { Engine, type Logger, MemoryStore, Registry } from "@aipartnerupflow/core";
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

  it("degrades to polling with a warning, keeps starting work, and recovers when the server is back", async () => {
    const proxy = new CuttableProxy(target);
    await proxy.open();
    cleanup.push(() => proxy.cut());
    const store = new MemoryStore();
    const registry = new Registry();
    registry.registerExecutor({ id: "noop", execute: async () => ({ ok: true }) });
    const { logger, warnings } = recordingLogger();
    const worker = new Engine({ store, registry, pollIntervalMs: 60_000, bus: new NodeEventBus() });
    const producer = new Engine({ store, registry, claim: false, bus: new NodeEventBus() });
    const wakeups = new Wakeups(worker, make(proxy.port), { logger, fallbackPollMs: 100 });
    await worker.start();
    await producer.start();
    await wakeups.start();
    cleanup.push(async () => {
      await wakeups.stop();
      await worker.stop();
      await producer.stop();
    });
    expect(wakeups.status).toBe("up");

    await proxy.cut();
    await expect.poll(() => wakeups.status).toBe("down");
    expect(warnings.join("\n")).toMatch(/unreachable; polling every 100 ms/);
    const [tree] = await producer.submit([{ name: "n", params: { executorId: "noop" } }]);
    await expect.poll(async () => (await store.getExecution(tree?.execution.id as string))?.status).toBe("completed");

    await proxy.open();
    await expect.poll(() => wakeups.status).toBe("up");
  });
});
