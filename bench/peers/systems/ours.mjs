// Ours, as a user runs it: trees through the public API (`Engine` from @aipartnerupflow/core,
// `createPrismaStore` from @aipartnerupflow/storage-prisma), on PostgreSQL or an SQLite file.
//
// Enqueue without claiming: `Engine.execute()` starts the engine's own claim loop, and there is
// no submit-only call yet. The producer therefore creates its trees with `engine.createTree()`
// (an engine that is never started: creating does not claim) and starts each execution with the
// store's public `startExecution()` (what `execute()` does before it starts claiming). A bulk of
// 1,000 jobs is one tree: a root with 999 children, none depending on another, so all 1,000 are
// ready at once — one `createTree` and one `startExecution` per 1,000 (bulk-of-1,000 one-task trees
// would need 1,000 `startExecution` transactions each; see the breakdown).
import { Engine, Registry } from "@aipartnerupflow/core";
import { createPrismaStore } from "@aipartnerupflow/storage-prisma";
import { CHECK_MS, CONCURRENCY, LEASE_MS, dbUrl } from "../lib/env.mjs";

function url(spec, application) {
  return spec.store === "pg" ? dbUrl(spec.db, application) : `file:${spec.sqlitePath}`;
}

function open(spec, { application, migrate = false } = {}) {
  const options = { url: url(spec, application), migrate: migrate || spec.store === "sqlite" };
  if (spec.durability) options.durability = spec.durability;
  return createPrismaStore(options);
}

function registry(onJob) {
  const r = new Registry();
  r.registerExecutor({
    id: "job",
    execute: async (_inputs, ctx) => {
      await onJob(ctx.task.name);
      return null;
    },
  });
  return r;
}

function engine(store, onJob) {
  return new Engine({
    store,
    registry: registry(onJob),
    concurrency: CONCURRENCY,
    leaseMs: LEASE_MS,
    pollIntervalMs: CHECK_MS,
  });
}

const task = (key, extra = {}) => ({ id: key, name: key, params: { executorId: "job" }, ...extra });

/** One bulk as one tree: the first key is the root, the others its independent children. */
function bulkTree(keys) {
  const [root, ...children] = keys;
  return [task(root), ...children.map((k) => task(k, { parentId: root }))];
}

export async function prepare(spec) {
  const store = await open(spec, { migrate: true });
  await store.close();
}

export async function openProducer(spec) {
  const store = await open(spec);
  const creator = engine(store, async () => {}); // never started: it only validates and stores trees
  const timing = { createMs: 0, startMs: 0 };
  return {
    timing,
    async enqueueBulk(keys) {
      const t0 = performance.now();
      const [root] = await creator.createTree(bulkTree(keys));
      const t1 = performance.now();
      await store.startExecution({ taskId: root.id, rerun: "failed", demo: false, now: new Date() });
      timing.createMs += t1 - t0;
      timing.startMs += performance.now() - t1;
    },
    /** One-task trees, each started on its own (the shape with no bulk start today). */
    async enqueueSingles(keys) {
      const trees = await creator.createTrees(keys.flatMap((k) => [task(k)]));
      for (const [root] of trees) {
        await store.startExecution({ taskId: root.id, rerun: "failed", demo: false, now: new Date() });
      }
    },
    async countDone() {
      return (await store.countByStatus()).completed ?? 0;
    },
    async close() {
      await store.close();
    },
  };
}

export async function openWorker(spec, onJob) {
  const store = await open(spec, { application: "bench-worker" });
  const e = engine(store, onJob);
  return {
    start: () => e.start(),
    async close() {
      await e.stop({ graceMs: 1000 });
      await store.close();
    },
  };
}

export async function openLocal(spec, onJob) {
  const store = await open(spec);
  const e = engine(store, onJob);
  await e.start();
  return {
    async enqueueOne(key) {
      const [root] = await e.createTree([task(key)]);
      await e.execute(root.id);
    },
    async fanIn(n) {
      const children = Array.from({ length: n }, (_, i) => task(`c${i}`, { parentId: "root" }));
      const [root] = await e.createTree([task("root", { dependencies: children.map((c) => c.id) }), ...children]);
      await e.execute(root.id);
    },
    async rootDone() {
      return (await store.getTask("root"))?.status === "completed";
    },
    async close() {
      await e.stop({ graceMs: 1000 });
      await store.close();
    },
  };
}
