import { Engine, type Logger, MemoryStore, Registry, type TaskEvent } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import { NodeEventBus } from "./bus.js";
import { EventFanout, latestSeq } from "./fanout.js";
import { decodeMessage, encodeMessage } from "./transport.js";
import { AmqpTransport } from "./amqp.js";
import { NatsTransport } from "./nats.js";
import { PostgresTransport } from "./postgres.js";
import { RedisTransport } from "./redis.js";
import type { WakeupHandlers, WakeupMessage, WakeupTransport } from "./transport.js";
import { Wakeups } from "./wakeups.js";
import { createWakeupTransport } from "./create.js";

const event = (seq: number, type: TaskEvent["type"] = "task.progress"): TaskEvent => ({
  seq,
  type,
  taskId: "t",
  rootId: "r",
  executionId: "x",
  status: "in_progress",
  at: new Date(0).toISOString(),
});

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

describe("wire form", () => {
  it("round-trips flags and origin, and refuses what is not a wake-up", () => {
    expect(decodeMessage(encodeMessage({ work: true, events: true, origin: "host:1:ab" }))).toEqual({
      work: true,
      events: true,
      origin: "host:1:ab",
    });
    expect(decodeMessage(encodeMessage({ work: false, events: true }))).toEqual({ work: false, events: true });
    expect(decodeMessage("garbage")).toBeNull();
    expect(decodeMessage(":x")).toBeNull();
  });
});

describe("NodeEventBus", () => {
  it("not attached: delivers what the engine publishes, each seq once", () => {
    const bus = new NodeEventBus();
    const all: number[] = [];
    bus.subscribe((e) => all.push(e.seq));
    bus.publish([event(1), event(2)]);
    bus.publish([event(2), event(3)]);
    expect(all).toEqual([1, 2, 3]);
  });

  it("attached: every node's events in seq order, each once; local listeners get only this node's", async () => {
    // The store's events, committed up to `visible`; 2, 4 and 5 were written by other nodes.
    const stored = [1, 2, 3, 4, 5, 6].map((seq) => event(seq));
    let visible = 3;
    let reads = 0;
    const store = {
      async readEvents(q: { afterSeq?: number; limit?: number }) {
        reads++;
        return stored.filter((e) => e.seq > (q.afterSeq ?? 0) && e.seq <= visible).slice(0, q.limit ?? 1000);
      },
    };
    const bus = new NodeEventBus();
    const all: number[] = [];
    const local: number[] = [];
    bus.subscribe((e) => all.push(e.seq));
    bus.subscribeLocal((e) => local.push(e.seq));
    bus.attach(store, 0, recordingLogger().logger);
    bus.publish([event(1)]); // follows the cursor: delivered at once, no read
    expect(all).toEqual([1]);
    expect(reads).toBe(0);
    bus.publish([event(3)]); // 2 is missing: read the store, which has 2 and 3
    await bus.catchUp();
    expect(all).toEqual([1, 2, 3]);
    visible = 6;
    await bus.catchUp(); // another node's wake-up: 4, 5, 6
    bus.publish([event(6)]); // already delivered
    expect(all).toEqual([1, 2, 3, 4, 5, 6]);
    expect(local).toEqual([1, 3, 6]);
  });
});

describe("latestSeq and the fan-out", () => {
  it("finds the newest seq of any store and reads only what comes after it", async () => {
    const store = new MemoryStore();
    expect(await latestSeq(store)).toBe(0);
    const producer = new Engine({ store, claim: false });
    await producer.createTree([{ name: "a" }, { name: "b", parentId: "a" }, { name: "c", parentId: "a" }]);
    const newest = (await store.readEvents({ afterSeq: 0, limit: 1000 })).at(-1)?.seq as number;
    expect(newest).toBeGreaterThan(0);
    expect(await latestSeq(store)).toBe(newest);

    const bus = new NodeEventBus();
    const seen: number[] = [];
    bus.subscribe((e) => seen.push(e.seq));
    const fanout = new EventFanout(store, bus, recordingLogger().logger);
    await fanout.start();
    await producer.createTree([{ name: "later" }]);
    await Promise.all([fanout.signal(), fanout.signal()]);
    expect(seen.length).toBeGreaterThan(0);
    expect(Math.min(...seen)).toBeGreaterThan(newest);
    expect(new Set(seen).size).toBe(seen.length);
  });
});

describe("createWakeupTransport", () => {
  it("picks PostgreSQL for a PostgreSQL store, polling otherwise, and names APFLOW_WAKEUPS on bad input", () => {
    expect(createWakeupTransport({ databaseUrl: "postgres://x@127.0.0.1/db" }).name).toBe("postgres");
    expect(createWakeupTransport({ databaseUrl: "file:./apflow.db" }).name).toBe("polling");
    expect(createWakeupTransport({ spec: "redis://127.0.0.1:6379" }).name).toBe("redis");
    expect(createWakeupTransport({ spec: "nats://127.0.0.1:4222" }).name).toBe("nats");
    expect(createWakeupTransport({ spec: "amqp://guest:guest@127.0.0.1" }).name).toBe("amqp");
    expect(createWakeupTransport({ spec: "postgres-app", databaseUrl: "postgresql://h/db" }).signalsWrites).toBe(false);
    expect(() => createWakeupTransport({ spec: "kafka://x" })).toThrow(/APFLOW_WAKEUPS/);
    expect(() => createWakeupTransport({ spec: "postgres", databaseUrl: "file:x.db" })).toThrow(/APFLOW_WAKEUPS/);
  });

  it("refuses a fan-out without a NodeEventBus, naming the option", () => {
    const engine = new Engine({ store: new MemoryStore() });
    expect(() => new Wakeups(engine, createWakeupTransport(), { fanout: true })).toThrow(/NodeEventBus/);
  });
});

// Nothing listens on port 1 of the loopback: every transport's server is "down".
const unreachable: Array<[string, () => WakeupTransport]> = [
  ["postgres", () => new PostgresTransport({ url: "postgres://postgres@127.0.0.1:1/none" })],
  ["redis", () => new RedisTransport({ url: "redis://127.0.0.1:1" })],
  ["nats", () => new NatsTransport({ url: "nats://127.0.0.1:1" })],
  ["amqp", () => new AmqpTransport({ url: "amqp://guest:guest@127.0.0.1:1" })],
];

describe.each(unreachable)("a %s transport whose server is unreachable", (_name, make) => {
  it("degrades to polling with a warning: work created elsewhere still starts, nothing throws", async () => {
    const store = new MemoryStore();
    const registry = new Registry();
    registry.registerExecutor({ id: "noop", execute: async () => ({ ok: true }) });
    const { logger, warnings } = recordingLogger();
    // The worker's own poll is a minute: only the fallback poll can start the task in time.
    const worker = new Engine({ store, registry, pollIntervalMs: 60_000, bus: new NodeEventBus() });
    const producer = new Engine({ store, registry, claim: false, bus: new NodeEventBus() });
    const wakeups = new Wakeups(worker, make(), { logger, fallbackPollMs: 100 });
    await worker.start();
    await wakeups.start();
    await producer.start();
    try {
      expect(wakeups.status).toBe("down");
      expect(warnings.join("\n")).toMatch(/unreachable; polling every 100 ms/);
      const [tree] = await producer.submit([{ name: "n", params: { executorId: "noop" } }]);
      await expect.poll(async () => (await store.getExecution(tree?.execution.id as string))?.status).toBe("completed");
    } finally {
      await wakeups.stop();
      await worker.stop();
      await producer.stop();
    }
  });
});

describe("Wakeups with a custom transport", () => {
  it("wakes on work, reads on events unless their seq was delivered, ignores its own, publishes one message per tick", async () => {
    let handlers: WakeupHandlers | undefined;
    const published: WakeupMessage[] = [];
    const transport: WakeupTransport = {
      name: "fake",
      signalsWrites: false,
      async start(h) {
        handlers = h;
        h.state("up");
      },
      async publish(m) {
        published.push(m);
      },
      async close() {},
    };
    const store = new MemoryStore();
    let reads = 0;
    const readEvents = store.readEvents.bind(store);
    store.readEvents = async (q) => {
      reads++;
      return readEvents(q);
    };
    const engine = new Engine({ store, claim: false, bus: new NodeEventBus() });
    const wakeups = new Wakeups(engine, transport);
    await engine.start();
    await wakeups.start();
    await engine.createTree([{ name: "a" }, { name: "b", parentId: "a" }]);
    await new Promise((r) => setImmediate(r));
    // Two task.created events in one write: one message, which can make work claimable.
    expect(published).toEqual([{ work: true, events: true, origin: engine.owner }]);
    // Published while the start-up read was in flight: delivered by the read after it.
    await expect.poll(() => wakeups.lastSeq).toBeGreaterThan(0);
    const delivered = wakeups.lastSeq as number;
    await new Promise((r) => setTimeout(r, 20));
    reads = 0;
    handlers?.message({ work: false, events: true, seq: delivered });
    handlers?.message({ work: true, events: true, origin: engine.owner });
    await new Promise((r) => setImmediate(r));
    expect(reads).toBe(0);
    expect(wakeups.stats.received).toBe(1);
    handlers?.message({ work: false, events: true, seq: delivered + 1 });
    await expect.poll(() => reads).toBeGreaterThan(0);
    await wakeups.stop();
    await engine.stop();
  });
});
