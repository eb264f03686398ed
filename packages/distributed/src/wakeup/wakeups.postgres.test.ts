import { randomBytes } from "node:crypto";
import { Engine, Registry, type TaskEvent } from "@aipartnerupflow/core";
import { createPrismaStore, migrate } from "@aipartnerupflow/storage-prisma";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { NodeEventBus } from "./bus.js";
import { createDatabase, postgresReachable, startWorker, transportFor, type TransportKind } from "./test-support.js";
import { Wakeups } from "./wakeups.js";

// Two real processes on a fresh PostgreSQL database: this one is the producer (and, in the
// dependency test, the node that runs the dependency); the worker is a child process whose own
// poll is 10 minutes, so a task it starts within 20 s proves the wake-up arrived.
const reachable = await postgresReachable();
if (!reachable && process.env.CI) throw new Error("PostgreSQL is not reachable and CI is set");
// "postgres, no trigger": a database not migrated to 0010, where the nodes notify themselves.
const KINDS: Array<[string, TransportKind, boolean]> = [
  ["postgres", "postgres", false],
  ["postgres, no trigger", "postgres", true],
  ["redis", "redis", false],
  ["nats", "nats", false],
  ["amqp", "amqp", false],
];
const POLL = 600_000;

describe.skipIf(!reachable).each(KINDS)("wake-ups across processes over %s", (_title, kind, dropTrigger) => {
  let database: { url: string; drop(): Promise<void> };
  const channel = `test_${randomBytes(4).toString("hex")}`;
  beforeAll(async () => {
    database = await createDatabase();
    await migrate({ url: database.url });
    if (dropTrigger) {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      await client.query("DROP TRIGGER events_notify ON events");
      await client.end();
    }
  });
  afterAll(async () => {
    await database?.drop();
  });

  async function node(options: { claim: boolean; registry?: Registry }) {
    // Trees are validated here, so this node knows the worker's executor (it never runs it).
    const registry = options.registry ?? new Registry();
    registry.registerExecutor({ id: "wake", execute: async () => ({ node: "here" }) });
    const store = await createPrismaStore({ url: database.url, poolSize: 2 });
    const bus = new NodeEventBus();
    const engine = new Engine({
      store,
      bus,
      claim: options.claim,
      pollIntervalMs: POLL,
      registry,
    });
    const wakeups = new Wakeups(engine, transportFor(kind, database.url, channel));
    await engine.start();
    await wakeups.start();
    return {
      engine,
      bus,
      wakeups,
      async close() {
        await wakeups.stop();
        await engine.stop({ graceMs: 1000 });
        await store.close();
      },
    };
  }

  it("an idle worker in another process starts a submitted tree, and the producer sees its events", async () => {
    const worker = startWorker({ url: database.url, transport: kind, channel, pollIntervalMs: POLL });
    const producer = await node({ claim: false });
    try {
      expect(await worker.waitFor("ready")).toBe("ready up");
      expect(producer.wakeups.status).toBe("up");
      const seen: TaskEvent[] = [];
      producer.bus.subscribe((e) => seen.push(e));
      const [tree] = await producer.engine.submit([{ name: "wake me", params: { executorId: "wake" } }]);
      const rootId = tree?.execution.rootId as string;
      expect(await worker.waitFor(`started ${rootId}`)).toMatch(/^started /);
      // The child wrote task.started and task.completed; only the fan-out brings them here.
      await expect
        .poll(() => seen.filter((e) => e.rootId === rootId).map((e) => e.type))
        .toEqual(expect.arrayContaining(["task.started", "task.completed", "tree.finished"]));
      // Each seq once and in order, this node's own (task.created, tree.started) among them.
      const bySeq = seen.map((e) => e.seq);
      expect(bySeq).toEqual([...new Set(bySeq)].sort((a, b) => a - b));
      expect(seen.filter((e) => e.rootId === rootId).map((e) => e.type)).toContain("tree.started");
      // wait() polls every 10 minutes: it resolves now through the fanned-out tree.finished.
      const outcome = await producer.engine.wait(tree?.execution.id as string);
      expect(outcome.status).toBe("completed");
      expect(outcome.tasks[0]?.result).toEqual({ node: "child" });
    } finally {
      await producer.close();
      await worker.stop();
    }
  });

  it("a stream opened on the producer (engine.subscribe, as SSE and A2A use it) follows a tree run by the worker", async () => {
    const worker = startWorker({ url: database.url, transport: kind, channel, pollIntervalMs: POLL });
    const producer = await node({ claim: false });
    try {
      await worker.waitFor("ready");
      const [root] = await producer.engine.createTree([
        { name: "root", params: { executorId: "wake" } },
        { name: "child", parentId: "root", params: { executorId: "wake" } },
      ]);
      const handle = await producer.engine.execute(root?.id as string);
      const types: string[] = [];
      for await (const e of handle.events()) types.push(`${e.type}`);
      expect(types[types.length - 1]).toBe("tree.finished");
      expect(types.filter((t) => t === "task.completed")).toHaveLength(2);
      expect((await handle.done).status).toBe("completed");
    } finally {
      await producer.close();
      await worker.stop();
    }
  });

  it("a dependency completed on this node wakes its dependent on the worker", async () => {
    let enter: () => void = () => {};
    const entered = new Promise<void>((resolve) => {
      enter = resolve;
    });
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const registry = new Registry();
    registry.registerExecutor({
      id: "first",
      execute: async () => {
        enter();
        await gate;
        return { node: "here" };
      },
    });
    const here = await node({ claim: true, registry });
    let worker: ReturnType<typeof startWorker> | undefined;
    try {
      const tree = await here.engine.createTree([
        { name: "root", params: { executorId: "wake" }, dependencies: ["first"] },
        { name: "first", parentId: "root", params: { executorId: "first" } },
      ]);
      const root = tree.find((t) => t.name === "root");
      const handle = await here.engine.execute(root?.id as string);
      await entered;
      // The worker starts only now (the dependency is running here), and this node stops
      // claiming before the dependency completes: only a wake-up can start the root in time.
      worker = startWorker({ url: database.url, transport: kind, channel, pollIntervalMs: POLL });
      await worker.waitFor("ready");
      const stopping = here.engine.stop({ graceMs: 30_000 });
      release();
      await stopping;
      expect(await worker.waitFor(`started ${root?.id}`)).toMatch(/^started /);
      const outcome = await handle.done.catch(() => null);
      const final = outcome ?? (await waitFinished(here.engine, handle.execution.id));
      expect(final.tasks.find((t) => t.name === "first")?.result).toEqual({ node: "here" });
      expect(final.tasks.find((t) => t.name === "root")?.result).toEqual({ node: "child" });
    } finally {
      await here.close();
      await worker?.stop();
    }
  });
});

async function waitFinished(engine: Engine, executionId: string) {
  await expect.poll(async () => (await engine.store.getExecution(executionId))?.status).toBe("completed");
  const e = await engine.store.getExecution(executionId);
  return { status: e?.status, tasks: await engine.store.getTree(e?.rootId as string) };
}
