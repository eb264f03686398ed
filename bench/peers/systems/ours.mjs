// Ours, as a user runs it: trees through the public API (`Engine` from @aipartnerupflow/core,
// `createPrismaStore` from @aipartnerupflow/storage-prisma), on PostgreSQL or an SQLite file.
//
// Enqueue without claiming: the producer is an engine with `claim: false`, and a bulk of 1,000
// jobs is one `engine.submit()` of 1,000 one-task trees (each its own execution), stored and
// queued in one transaction. APFLOW_BENCH_OURS_BULK=tree stores a bulk as one tree instead (a root
// with 999 independent children: one execution per 1,000 jobs).
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

function engine(store, onJob, claim = true) {
  return new Engine({
    claim,
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
  const creator = engine(store, async () => {}, false); // a producer: it submits, never claims
  const timing = { createMs: 0, startMs: 0 };
  return {
    timing,
    async enqueueBulk(keys) {
      const t0 = performance.now();
      if (process.env.APFLOW_BENCH_OURS_BULK === "tree") await creator.submit(bulkTree(keys));
      else await creator.submit(keys.map((k) => task(k)));
      timing.createMs += performance.now() - t0;
    },
    /** One-task trees, created and then started one by one (what submit replaces). */
    async enqueueSingles(keys) {
      const trees = await creator.createTrees(keys.flatMap((k) => [task(k)]));
      for (const [root] of trees) await creator.execute(root.id);
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
      await e.submit([task(key)]);
    },
    async fanIn(n) {
      const children = Array.from({ length: n }, (_, i) => task(`c${i}`, { parentId: "root" }));
      await e.submit([task("root", { dependencies: children.map((c) => c.id) }), ...children]);
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
