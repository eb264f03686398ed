// Cross-process pickup latency (issue 12, targets p50 ≤ 5 ms, p99 ≤ 20 ms): a producer engine
// (claim: false) in this process submits one-task trees one at a time, each after an idle of
// 20–100 ms (seeded); an idle worker engine in another process (wakeups-worker.mjs) runs them.
// Latency = the executor's first line in the worker minus the moment before `submit` here (both
// clocks are the machine's wall clock at sub-ms resolution). Per transport: PostgreSQL
// LISTEN/NOTIFY from the trigger (the default), PostgreSQL notified by the nodes instead
// (`postgres-app`, trigger dropped), Redis, NATS, RabbitMQ, and polling (the engine's 1 s poll,
// no transport). Also the trigger's cost on the write path. Each on a fresh database.
// Needs a build and PostgreSQL (APFLOW_BENCH_PG_URL); a transport whose server does not answer is
// reported as skipped.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";
import { loadavg as osLoad } from "node:os";
import { fileURLToPath } from "node:url";
import { Engine, Registry } from "../packages/core/dist/index.js";
import { NodeEventBus, Wakeups } from "../packages/distributed/dist/index.js";
import { createPrismaStore, migrate } from "../packages/storage-prisma/dist/index.js";
import { makeTransport } from "./wakeups-transports.mjs";

const require = createRequire(new URL("../packages/distributed/package.json", import.meta.url));
const pg = require("pg");
const PG_ADMIN_URL = process.env.APFLOW_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const SAMPLES = Number(process.env.APFLOW_BENCH_WAKEUP_SAMPLES ?? 200);

// `APFLOW_BENCH_WAKEUP_ROWS=postgres,redis` measures only those transports (and skips the
// trigger-cost runs unless `postgres` is among them).
const ONLY = process.env.APFLOW_BENCH_WAKEUP_ROWS?.split(",").map((s) => s.trim());
const ROWS = [
  ["PostgreSQL NOTIFY (trigger, default)", "postgres", SAMPLES],
  ["PostgreSQL NOTIFY (app-side pg_notify)", "postgres-app", SAMPLES],
  ["Redis pub/sub", "redis", SAMPLES],
  ["NATS", "nats", SAMPLES],
  ["RabbitMQ", "amqp", SAMPLES],
  ["polling (engine poll 1 s, no transport)", "polling", Math.min(SAMPLES, 40)],
].filter(([, kind]) => !ONLY || ONLY.includes(kind));

async function withDatabase(fn) {
  const name = `apflow_bench_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  try {
    await migrate({ url: url.toString() });
    return await fn(url.toString());
  } finally {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  }
}

async function sql(url, text) {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text);
  } finally {
    await c.end();
  }
}

function registry() {
  const r = new Registry();
  r.registerExecutor({ id: "mark", execute: () => null });
  return r;
}

function startWorker(config) {
  const child = spawn(
    process.execPath,
    [fileURLToPath(new URL("./wakeups-worker.mjs", import.meta.url)), JSON.stringify(config)],
    {
      stdio: ["pipe", "pipe", "inherit"],
    },
  );
  const started = new Map();
  const waiting = new Map();
  let ready;
  const readyLine = new Promise((resolve) => (ready = resolve));
  createInterface({ input: child.stdout }).on("line", (line) => {
    const [word, id, at] = line.split(" ");
    if (word === "ready") ready(id);
    if (word !== "started") return;
    started.set(id, Number(at));
    waiting.get(id)?.(Number(at));
  });
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    readyLine,
    startedAt(id, timeoutMs) {
      if (started.has(id)) return Promise.resolve(started.get(id));
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`task ${id} not started in ${timeoutMs} ms`)), timeoutMs);
        waiting.set(id, (at) => {
          clearTimeout(t);
          resolve(at);
        });
      });
    },
    async stop() {
      child.stdin.end("stop\n");
      const t = setTimeout(() => child.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(t);
    },
  };
}

function seeded(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

const loadavg = () =>
  osLoad()
    .map((x) => x.toFixed(2))
    .join(", ");
const quantile = (sorted, q) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
const ms = (x) => (x === undefined ? "—" : x < 10 ? x.toFixed(2) : x.toFixed(1));

async function measure(kind, samples) {
  return withDatabase(async (url) => {
    if (kind === "postgres-app") await sql(url, "DROP TRIGGER events_notify ON events");
    const channel = `bench_${randomBytes(4).toString("hex")}`;
    const worker = startWorker({ url, transport: kind, channel });
    const store = await createPrismaStore({ url, poolSize: 2 });
    const producer = new Engine({ store, registry: registry(), claim: false, bus: new NodeEventBus() });
    const transport = makeTransport(kind, url, channel);
    const wakeups = transport ? new Wakeups(producer, transport, { fanout: false }) : null;
    try {
      await producer.start();
      await wakeups?.start();
      const state = await worker.readyLine;
      if (wakeups && (wakeups.status !== "up" || state !== "up")) return { skipped: `${kind} not reachable` };
      const random = seeded(12);
      const latencies = [];
      const afterCommit = [];
      const submits = [];
      // Polling: idles spread over the poll interval, or every sample would land just after a poll.
      const idle = kind === "polling" ? 1000 : 80;
      // Two warm-up trees (connections, prepared statements, JIT), not counted.
      for (let i = -2; i < samples; i++) {
        await new Promise((r) => setTimeout(r, 20 + random() * idle));
        const t0 = performance.timeOrigin + performance.now();
        const [tree] = await producer.submit([{ name: "pickup", params: { executorId: "mark" } }]);
        const t1 = performance.timeOrigin + performance.now();
        const at = await worker.startedAt(tree.execution.rootId, 10_000);
        if (i < 0) continue;
        latencies.push(at - t0);
        afterCommit.push(at - t1);
        submits.push(t1 - t0);
      }
      for (const list of [latencies, afterCommit, submits]) list.sort((a, b) => a - b);
      return {
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        max: latencies.at(-1),
        afterP50: quantile(afterCommit, 0.5),
        afterP99: quantile(afterCommit, 0.99),
        submitP50: quantile(submits, 0.5),
        n: latencies.length,
      };
    } finally {
      await wakeups?.stop();
      await producer.stop();
      await store.close();
      await worker.stop();
    }
  });
}

/** The floor without any wake-up: producer and worker are one engine in this process. */
async function inProcess(samples) {
  return withDatabase(async (url) => {
    const store = await createPrismaStore({ url, poolSize: 4 });
    const started = new Map();
    const r = new Registry();
    r.registerExecutor({
      id: "mark",
      execute: (_inputs, ctx) => {
        started.get(ctx.task.rootId)?.(performance.timeOrigin + performance.now());
        return null;
      },
    });
    const engine = new Engine({ store, registry: r, concurrency: 10 });
    try {
      await engine.start();
      const random = seeded(12);
      const latencies = [];
      for (let i = -2; i < samples; i++) {
        await new Promise((res) => setTimeout(res, 20 + random() * 80));
        const id = `p${i}`;
        const at = new Promise((res) => started.set(id, res));
        const t0 = performance.timeOrigin + performance.now();
        await engine.submit([{ id, name: "pickup", params: { executorId: "mark" } }]);
        const t = await at;
        if (i >= 0) latencies.push(t - t0);
      }
      latencies.sort((a, b) => a - b);
      return {
        p50: quantile(latencies, 0.5),
        p99: quantile(latencies, 0.99),
        max: latencies.at(-1),
        n: latencies.length,
      };
    } finally {
      await engine.stop();
      await store.close();
    }
  });
}

/** The trigger on the write path: 2,000 one-task trees submitted in bulks of 200, then run by one engine. */
export async function triggerCost(withTrigger) {
  return withDatabase(async (url) => {
    if (!withTrigger) await sql(url, "DROP TRIGGER events_notify ON events");
    const store = await createPrismaStore({ url, poolSize: 4 });
    const engine = new Engine({ store, registry: registry(), concurrency: 10, pollIntervalMs: 50 });
    try {
      const t0 = performance.now();
      const executions = [];
      for (let b = 0; b < 10; b++) {
        const trees = Array.from({ length: 200 }, (_, i) => ({
          id: `t${b}_${i}`,
          name: "n",
          params: { executorId: "mark" },
        }));
        for (const t of await engine.submit(trees)) executions.push(t.execution.id);
      }
      const t1 = performance.now();
      await engine.start();
      for (;;) {
        const counts = await store.countByStatus();
        if (counts.completed >= 2000) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const t2 = performance.now();
      return { submitPerS: 2000 / ((t1 - t0) / 1000), runPerS: 2000 / ((t2 - t1) / 1000) };
    } finally {
      await engine.stop();
      await store.close();
    }
  });
}

/** The transport alone: one process publishes, another receives (no store write, no claim). */
async function floor(kind, samples) {
  return withDatabase(async (url) => {
    const channel = `bench_${randomBytes(4).toString("hex")}`;
    const worker = startWorker({ url, transport: kind, channel, floor: true });
    const transport = makeTransport(kind === "postgres" ? "postgres-app" : kind, url, channel);
    try {
      await transport.start({ message: () => undefined, state: () => undefined });
      await worker.readyLine;
      await new Promise((r) => setTimeout(r, 200));
      const random = seeded(7);
      const latencies = [];
      for (let i = -2; i < samples; i++) {
        await new Promise((r) => setTimeout(r, 5 + random() * 20));
        const id = `m${i}`;
        const t0 = performance.timeOrigin + performance.now();
        await transport.publish({ work: true, events: false, origin: id });
        const at = await worker.startedAt(id, 5000);
        if (i >= 0) latencies.push(at - t0);
      }
      latencies.sort((a, b) => a - b);
      return { p50: quantile(latencies, 0.5), p99: quantile(latencies, 0.99) };
    } finally {
      await transport.close();
      await worker.stop();
    }
  });
}

export async function run() {
  try {
    await sql(PG_ADMIN_URL, "SELECT 1");
  } catch {
    console.log(`PostgreSQL not reachable at ${PG_ADMIN_URL}: wake-up benchmark skipped`);
    return;
  }
  console.log(
    `cross-process pickup latency, ${SAMPLES} samples per transport (polling: fewer), idle 20–100 ms between`,
  );
  console.log(`load (uptime): ${loadavg()}`);
  console.log(
    "\n| transport | p50 ms | p99 ms | max ms | from submit's return: p50 / p99 ms | submit p50 ms | samples |\n|---|---|---|---|---|---|---|",
  );
  for (const [title, kind, samples] of ROWS) {
    let r;
    try {
      r = await measure(kind, samples);
    } catch (err) {
      r = { skipped: err instanceof Error ? err.message : String(err) };
    }
    if (r.skipped) console.log(`| ${title} | skipped: ${r.skipped} | | | | | |`);
    else
      console.log(
        `| ${title} | ${ms(r.p50)} | ${ms(r.p99)} | ${ms(r.max)} | ${ms(r.afterP50)} / ${ms(r.afterP99)} | ${ms(r.submitP50)} | ${r.n} |`,
      );
  }
  const local = await inProcess(Math.min(SAMPLES, 100));
  console.log(
    `| same process, no wake-up needed (the floor: submit + claim) | ${ms(local.p50)} | ${ms(local.p99)} | ${ms(local.max)} | | | ${local.n} |`,
  );
  console.log("targets: p50 ≤ 5 ms, p99 ≤ 20 ms (latency from before the submit call, which includes its commit)");
  console.log(`\nthe transport alone, process to process (publish → receive, no store), load ${loadavg()}:`);
  console.log("| transport | p50 ms | p99 ms |\n|---|---|---|");
  for (const [title, kind] of ROWS) {
    if (kind === "polling" || kind === "postgres-app") continue;
    try {
      const r = await floor(kind, 100);
      console.log(`| ${title.replace(" (trigger, default)", " (pg_notify)")} | ${ms(r.p50)} | ${ms(r.p99)} |`);
    } catch (err) {
      console.log(`| ${title} | skipped: ${err instanceof Error ? err.message : String(err)} | |`);
    }
  }
  if (ONLY && !ONLY.includes("postgres")) return;
  // Alternated, best of two each: the machine's noise is larger than the difference.
  const best = (a, b) => ({
    submitPerS: Math.max(a.submitPerS, b.submitPerS),
    runPerS: Math.max(a.runPerS, b.runPerS),
  });
  const on1 = await triggerCost(true);
  const off1 = await triggerCost(false);
  const on = best(on1, await triggerCost(true));
  const off = best(off1, await triggerCost(false));
  console.log(
    `\ntrigger events_notify on the write path (2,000 one-task trees, one process, best of 2), load ${loadavg()}:`,
  );
  console.log("| | submit trees/s | run tasks/s |\n|---|---|---|");
  console.log(`| trigger on | ${on.submitPerS.toFixed(0)} | ${on.runPerS.toFixed(0)} |`);
  console.log(`| trigger off | ${off.submitPerS.toFixed(0)} | ${off.runPerS.toFixed(0)} |`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
