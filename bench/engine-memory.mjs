// Engine overhead on the in-memory store (SPEC §11): no-op trees of 10,000 and 100,000 tasks.
import { Engine, MemoryStore, Registry } from "../packages/core/dist/index.js";
import { formatRate, mixedTree } from "./trees.mjs";

const gc = globalThis.gc ?? (() => {});

function registry() {
  const r = new Registry();
  r.registerExecutor({ id: "noop", execute: () => null });
  return r;
}

async function runOnce(size, concurrency) {
  const store = new MemoryStore();
  const engine = new Engine({ store, registry: registry(), concurrency });
  const tasks = mixedTree(size);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const [root] = await engine.createTree(tasks);
  const t1 = performance.now();
  gc();
  const heapPending = process.memoryUsage().heapUsed - heapBefore;
  const handle = await engine.execute(root.id);
  const outcome = await handle.done;
  const t2 = performance.now();
  const rss = process.memoryUsage().rss;
  if (outcome.status !== "completed" || outcome.tasks.length !== tasks.length) {
    throw new Error(`tree did not complete: ${outcome.status}`);
  }
  await engine.stop();
  return { size: tasks.length, createMs: t1 - t0, runMs: t2 - t1, heapPerTask: heapPending / tasks.length, rss };
}

export async function run({ concurrency = 64 } = {}) {
  await runOnce(10_000, concurrency); // warm-up
  const small = await runOnce(10_000, concurrency);
  const large = await runOnce(100_000, concurrency);
  const rows = [small, large].map((r) => ({
    tasks: r.size,
    "create ms": Math.round(r.createMs),
    "run ms": Math.round(r.runMs),
    "run tasks/s": formatRate(r.size / (r.runMs / 1000)),
    "end-to-end tasks/s": formatRate(r.size / ((r.createMs + r.runMs) / 1000)),
    "heap B/pending task": Math.round(r.heapPerTask),
    "rss MB after": Math.round(r.rss / 2 ** 20),
  }));
  console.log(`\nengine on MemoryStore (concurrency ${concurrency}, no-op executor)`);
  console.table(rows);
  const ratio = (large.createMs + large.runMs) / (small.createMs + small.runMs);
  const figures = {
    tasksPerSecond10k: small.size / (small.runMs / 1000),
    tasksPerSecond100k: large.size / (large.runMs / 1000),
    ratio100kTo10k: ratio,
    heapBytesPerPendingTask: large.heapPerTask,
  };
  console.log(
    `targets: >= 100,000 tasks/s: ${formatRate(figures.tasksPerSecond10k)} ${figures.tasksPerSecond10k >= 100_000 ? "ok" : "MISSED"}; ` +
      `100k/10k time ratio <= 12: ${ratio.toFixed(1)} ${ratio <= 12 ? "ok" : "MISSED"}; ` +
      `<= 2 KB heap per pending task: ${Math.round(large.heapPerTask)} B ${large.heapPerTask <= 2048 ? "ok" : "MISSED"}`,
  );
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
