// Engine overhead on the in-memory store (the performance targets in bench/README.md): no-op trees of 10,000 and 100,000 tasks.
import { execFileSync } from "node:child_process";
import { Engine, MemoryStore, Registry } from "../packages/core/dist/index.js";
import { formatRate, mixedTree } from "./trees.mjs";

const gc = globalThis.gc ?? (() => {});

// One registry for every run, as an application has: the executor is the same function each time.
const registry = new Registry();
registry.registerExecutor({ id: "noop", execute: () => null });

async function runOnce(size, concurrency) {
  const store = new MemoryStore();
  const engine = new Engine({ store, registry, concurrency });
  const tasks = mixedTree(size);
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  const [root] = await engine.createTree(tasks);
  const t1 = performance.now();
  gc();
  const heapPending = process.memoryUsage().heapUsed - heapBefore;
  // The run phase starts after the forced collection and heap reading above, not before them.
  const tRun = performance.now();
  const cpu0 = process.cpuUsage();
  const handle = await engine.execute(root.id);
  const outcome = await handle.done;
  const t2 = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const rss = process.memoryUsage().rss;
  if (outcome.status !== "completed" || outcome.tasks.length !== tasks.length) {
    throw new Error(`tree did not complete: ${outcome.status}`);
  }
  await engine.stop();
  return {
    size: tasks.length,
    createMs: t1 - t0,
    runMs: t2 - tRun,
    cpuMs: (cpu.user + cpu.system) / 1000,
    heapPerTask: heapPending / tasks.length,
    rss,
  };
}

function summarize(runs) {
  const byRun = [...runs].sort((a, b) => a.runMs - b.runMs);
  const best = byRun[0];
  const median = byRun[Math.floor((byRun.length - 1) / 2)];
  return { best, median, runs: runs.length };
}

/**
 * Each size runs several times in one process (the machines are shared and noisy): the table
 * shows the best and the median run; heap per pending task comes from the best run.
 */
export async function run({ concurrency = 64, runs10k = 7, runs100k = 3 } = {}) {
  await runOnce(10_000, concurrency); // warm-up
  const small = summarize(await repeat(runs10k, () => runOnce(10_000, concurrency)));
  const large = summarize(await repeat(runs100k, () => runOnce(100_000, concurrency)));
  const row = (label, r) => ({
    tasks: r.size,
    run: label,
    "create ms": Math.round(r.createMs),
    "run ms": Math.round(r.runMs),
    "run tasks/s": formatRate(r.size / (r.runMs / 1000)),
    "run cpu ms": Math.round(r.cpuMs),
    "end-to-end tasks/s": formatRate(r.size / ((r.createMs + r.runMs) / 1000)),
    "heap B/pending task": Math.round(r.heapPerTask),
    "rss MB (process)": Math.round(r.rss / 2 ** 20),
  });
  console.log(
    `\nengine on MemoryStore (concurrency ${concurrency}, no-op executor; ${small.runs} runs of 10k, ${large.runs} of 100k)`,
  );
  console.table([
    row("best", small.best),
    row("median", small.median),
    row("best", large.best),
    row("median", large.median),
  ]);
  const peakRssMb = peakRssOfOneTree(100_000, concurrency);
  console.log(`one 100,000-task tree in a fresh process: peak RSS ${peakRssMb} MB (target <= 512 MB)`);
  const ratio = large.best.runMs / small.best.runMs;
  const ratioEndToEnd = (large.best.createMs + large.best.runMs) / (small.best.createMs + small.best.runMs);
  const figures = {
    tasksPerSecond10k: small.best.size / (small.best.runMs / 1000),
    tasksPerSecond10kMedian: small.median.size / (small.median.runMs / 1000),
    tasksPerSecond100k: large.best.size / (large.best.runMs / 1000),
    ratio100kTo10k: ratio,
    ratio100kTo10kEndToEnd: ratioEndToEnd,
    heapBytesPerPendingTask: large.best.heapPerTask,
    peakRssMb100k: peakRssMb,
  };
  const endToEnd10k = small.best.size / ((small.best.createMs + small.best.runMs) / 1000);
  console.log(
    `targets (bench/README.md): run phase >= 150,000 tasks/s: best ${formatRate(figures.tasksPerSecond10k)}, median ${formatRate(figures.tasksPerSecond10kMedian)} ${figures.tasksPerSecond10k >= 150_000 ? "ok" : "MISSED"}; ` +
      `end to end >= 100,000 tasks/s: best ${formatRate(endToEnd10k)} ${endToEnd10k >= 100_000 ? "ok" : "MISSED"}; ` +
      `100k/10k time ratio <= 12: run ${ratio.toFixed(1)}, end-to-end ${ratioEndToEnd.toFixed(1)} ${Math.max(ratio, ratioEndToEnd) <= 12 ? "ok" : "MISSED"}; ` +
      `<= 2 KB heap per pending task: ${Math.round(figures.heapBytesPerPendingTask)} B ${figures.heapBytesPerPendingTask <= 2048 ? "ok" : "MISSED"}`,
  );
  return figures;
}

/** Peak RSS (MB) of a fresh process that creates and runs one tree of `size` tasks. */
function peakRssOfOneTree(size, concurrency) {
  const core = new URL("../packages/core/dist/index.js", import.meta.url).href;
  const trees = new URL("./trees.mjs", import.meta.url).href;
  const code = `
    import { Engine, MemoryStore, Registry } from ${JSON.stringify(core)};
    import { mixedTree } from ${JSON.stringify(trees)};
    const registry = new Registry();
    registry.registerExecutor({ id: "noop", execute: () => null });
    const engine = new Engine({ store: new MemoryStore(), registry, concurrency: ${concurrency} });
    const outcome = await engine.runTree(mixedTree(${size}));
    if (outcome.status !== "completed") throw new Error(outcome.status);
    await engine.stop();
    console.log(process.resourceUsage().maxRSS);
  `;
  const kb = Number(execFileSync(process.execPath, ["--input-type=module", "-e", code], { encoding: "utf8" }).trim());
  return Math.round(kb / 1024);
}

async function repeat(n, fn) {
  const out = [];
  for (let i = 0; i < n; i++) out.push(await fn());
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
