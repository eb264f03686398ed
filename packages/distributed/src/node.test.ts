import { defineExecutor, Engine, MemoryStore, Registry, Scheduler } from "@aipartnerupflow/core";
import { afterEach, describe, expect, it } from "vitest";
import { LocalElection } from "./election.js";
import { Node } from "./node.js";
import type { WakeupHandlers } from "./wakeup/transport.js";

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
});

function registry(): Registry {
  const r = new Registry();
  r.registerExecutor(
    defineExecutor({
      id: "hold",
      cancelable: true,
      execute: (_inputs, ctx) =>
        new Promise((resolve) => {
          const t = setTimeout(() => resolve({ ok: true }), 60_000);
          ctx.signal.addEventListener("abort", () => {
            clearTimeout(t);
            resolve({ aborted: true });
          });
        }),
    }),
  );
  r.registerExecutor(defineExecutor({ id: "echo", execute: (inputs) => inputs }));
  return r;
}

function node(store: MemoryStore, owner: string, over: Partial<ConstructorParameters<typeof Node>[0]> = {}) {
  const engine = new Engine({ store, registry: registry(), owner, pollIntervalMs: 20, leaseMs: 60_000 });
  const n = new Node({ engine, heartbeatMs: 20, deadAfterMs: 200, version: "9.9.9", tags: ["t1"], ...over });
  stops.push(() => n.stop({ graceMs: 0 }));
  return n;
}

describe("Node on one store", () => {
  it("claims with the tags it registers: a task requiring a tag only the other node has runs there", async () => {
    const store = new MemoryStore();
    const plain = node(store, "node-plain", { tags: [] });
    const gpu = node(store, "node-gpu", { tags: ["gpu"] });
    expect(gpu.engine.claimTags).toEqual(["gpu"]);
    await plain.start();
    await gpu.start();
    expect((await store.nodes.get("node-gpu"))?.tags).toEqual(["gpu"]);
    const [tree] = await plain.engine.submit([
      { name: "root", dependencies: ["g"] },
      { name: "g", parentId: "root", schemas: { method: "echo" }, placement: { requires: ["gpu"] } },
    ]);
    expect((await plain.engine.wait(tree?.execution.id as string)).status).toBe("completed");
    const g = tree?.tasks.find((t) => t.name === "g")?.id as string;
    expect((await store.getAttempts(g)).map((a) => a.owner)).toEqual(["node-gpu"]);
  });

  it("registers with its engine's owner as node id, heartbeats, deregisters on stop", async () => {
    const store = new MemoryStore();
    const n = node(store, "node-a");
    await n.start();
    const record = await store.nodes.get("node-a");
    expect(record).toMatchObject({
      nodeId: "node-a",
      pid: process.pid,
      version: "9.9.9",
      tags: ["t1"],
      concurrency: 10,
      heartbeatMs: 20,
      deadAfterMs: 200,
    });
    expect(record?.executors).toContain("echo");
    const first = record?.heartbeatAt.getTime() ?? 0;
    await expect.poll(async () => (await store.nodes.get("node-a"))?.heartbeatAt.getTime()).toBeGreaterThan(first);
    await n.stop();
    expect(await store.nodes.get("node-a")).toBeNull();
    expect((await store.nodes.listEvents()).map((e) => e.type)).toEqual([
      "node.registered",
      "coordinator.elected",
      "node.deregistered",
    ]);
  });

  it("a drained node stops claiming and claims again when the drain is cleared", async () => {
    const store = new MemoryStore();
    const n = node(store, "node-a");
    await n.start();
    await store.nodes.drain("node-a", true);
    await expect.poll(() => n.engine.claimingPaused).toBe(true);
    const [tree] = await n.engine.submit([{ name: "t", schemas: { method: "echo" } }]);
    expect((await store.getTask(tree?.execution.rootId as string))?.status).toBe("pending");
    await store.nodes.drain("node-a", false);
    expect((await n.engine.wait(tree?.execution.id as string)).status).toBe("completed");
  });

  it("the coordinator hands back a dead node's leases at once (after deadAfterMs, not the lease)", async () => {
    const store = new MemoryStore();
    // The dead node: registered, claimed, then silent (never stopped).
    const deadEngine = new Engine({ store, registry: registry(), owner: "dead", leaseMs: 600_000, claim: false });
    await store.nodes.register(
      {
        ...new Node({ engine: deadEngine, heartbeatMs: 20, deadAfterMs: 200, election: false }).registration(),
        host: "elsewhere",
      },
      new Date(),
    );
    const producer = new Engine({ store, registry: registry(), claim: false });
    await producer.start();
    const [tree] = await producer.submit([{ name: "t", schemas: { method: "echo" }, retry: { maxAttempts: 3 } }]);
    const { claimed } = await store.claimReady({ owner: "dead", limit: 1, leaseMs: 600_000, now: new Date() });
    expect(claimed).toHaveLength(1);
    const live = node(store, "live", { election: new LocalElection() });
    await live.start();
    expect((await producer.wait(tree?.execution.id as string)).status).toBe("completed");
    const types = (await store.nodes.listEvents()).map((e) => `${e.type}:${e.nodeId}`);
    expect(types).toContain("node.dead:dead");
    expect(types).toContain("node.leases_handed_back:dead");
    const attempts = await store.getAttempts(claimed[0]?.task.id as string);
    expect(attempts.map((a) => [a.owner, a.status])).toEqual([
      ["dead", "failed"],
      ["live", "completed"],
    ]);
  });

  it("schedules fire on the coordinator only, and a follower takes over when the coordinator stops", async () => {
    const store = new MemoryStore();
    let held: string | null = null;
    const election = (id: string) => ({
      kind: "test",
      tryAcquire: async () => {
        if (held === null) held = id;
        return held === id;
      },
      holds: async () => held === id,
      release: async () => {
        if (held === id) held = null;
      },
    });
    const made: string[] = [];
    const a = node(store, "a", {
      election: election("a"),
      scheduler: () => {
        made.push("a");
        return new Scheduler({ engine: a.engine });
      },
    });
    const b = node(store, "b", {
      election: election("b"),
      scheduler: () => {
        made.push("b");
        return new Scheduler({ engine: b.engine });
      },
    });
    await a.start();
    await b.start();
    expect(a.coordinator?.isLeader).toBe(true);
    expect(b.coordinator?.isLeader).toBe(false);
    await a.stop();
    await expect.poll(() => b.coordinator?.isLeader).toBe(true);
    expect(made).toEqual(["a", "b"]);
    const elected = (await store.nodes.listEvents({ type: "coordinator.elected" })).map((e) => [
      e.nodeId,
      e.detail.previous,
    ]);
    expect(elected).toEqual([
      ["a", null],
      ["b", "a"],
    ]);
  });
});

describe("a previous process of this host whose pid is gone", () => {
  it("has its leases handed back at once, before deadAfterMs", async () => {
    const { spawnSync } = await import("node:child_process");
    const { hostname } = await import("node:os");
    const gone = spawnSync(process.execPath, ["-e", "0"]).pid as number;
    const store = new MemoryStore();
    const old = new Engine({ store, registry: registry(), owner: "old", claim: false });
    const reg = new Node({ engine: old, heartbeatMs: 1000, deadAfterMs: 600_000, election: false }).registration();
    await store.nodes.register({ ...reg, host: hostname(), pid: gone }, new Date());
    const producer = new Engine({ store, registry: registry(), claim: false });
    await producer.start();
    const [tree] = await producer.submit([{ name: "t", schemas: { method: "echo" } }]);
    expect(
      (await store.claimReady({ owner: "old", limit: 1, leaseMs: 600_000, now: new Date() })).claimed,
    ).toHaveLength(1);
    const restarted = node(store, "new", { deadAfterMs: 600_000, heartbeatMs: 50 });
    await restarted.start();
    expect((await producer.wait(tree?.execution.id as string)).status).toBe("completed");
    const dead = await store.nodes.listEvents({ type: "node.dead" });
    expect(dead.map((e) => [e.nodeId, e.detail.reason])).toEqual([["old", "pid gone"]]);
  });
});

describe("Node wake-ups", () => {
  it("starts its transport after the engine, closes it after the engine stopped, and names it in node.registered", async () => {
    const store = new MemoryStore();
    const order: string[] = [];
    let handlers: WakeupHandlers | undefined;
    const transport = {
      name: "fake",
      signalsWrites: true,
      async start(h: WakeupHandlers) {
        order.push(`start (engine ${engine.claims ? "claiming" : "?"})`);
        handlers = h;
        h.state("up");
      },
      async publish() {},
      async close() {
        order.push(`close (engine running ${engine.activeCount})`);
      },
    };
    const engine = new Engine({ store, registry: registry(), owner: "w", pollIntervalMs: 600_000 });
    const n = new Node({ engine, heartbeatMs: 20, deadAfterMs: 200, wakeups: transport });
    stops.push(() => n.stop({ graceMs: 0 }));
    await n.start();
    expect(n.wakeups?.status).toBe("up");
    const registered = (await store.nodes.listEvents({ type: "node.registered" }))[0];
    expect(registered?.detail).toMatchObject({ wakeups: "fake" });
    // Woken by another node's message: the engine (poll 10 min) claims now.
    const producer = new Engine({ store, registry: registry(), claim: false });
    const [tree] = await producer.submit([{ name: "e", schemas: { method: "echo" } }]);
    handlers?.message({ work: true, events: false, origin: "other" });
    await expect.poll(async () => (await store.getTask(tree?.tasks[0]?.id as string))?.status).toBe("completed");
    expect(n.wakeups?.stats.received).toBe(1);
    await n.stop({ graceMs: 0 });
    expect(order).toEqual(["start (engine claiming)", "close (engine running 0)"]);
    expect(n.wakeups?.status).toBe("stopped");
  });

  it("has none on a store not on PostgreSQL unless APFLOW_WAKEUPS names one; a bad name is refused by it", () => {
    const store = new MemoryStore();
    const engine = new Engine({ store, registry: registry(), owner: "x" });
    expect(new Node({ engine, wakeups: { spec: undefined, databaseUrl: "file:./a.db" } }).wakeups).toBeNull();
    expect(new Node({ engine, wakeups: { spec: "none", databaseUrl: "postgres://h/db" } }).wakeups).toBeNull();
    expect(new Node({ engine, wakeups: { spec: "polling" } }).wakeups?.transport.name).toBe("polling");
    expect(new Node({ engine, wakeups: { databaseUrl: "postgres://h/db" } }).wakeups?.transport.name).toBe("postgres");
    expect(() => new Node({ engine, wakeups: { spec: "kafka://x" } })).toThrow(/APFLOW_WAKEUPS/);
  });
});
