// One measurement in its own process: `node measure.mjs '<spec json>'`. The spec names the
// system, the workload and the database / key prefix / SQLite file the orchestrator created for
// it. Prints one line `RESULT <json>`.
import { fork } from "node:child_process";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { CONCURRENCY, LEASE_MS, admin, chunk, hash, keys, percentile, seeded, sleep, waitFor } from "./lib/env.mjs";

const spec = JSON.parse(process.argv[2]);
const system = await import(`./systems/${spec.module}.mjs`);
const WORKER = fileURLToPath(new URL("./worker.mjs", import.meta.url));

const W1_JOBS = 20_000;
const BULK = 1_000;
const W2_CHILDREN = 1_000;
const W3_JOBS = 200;
const W4_JOBS = 1_000;
const W4_JOB_MS = 50;
const W4_KILL_AFTER = 300;

/** A worker process, ready (system opened, not started) when the promise resolves. */
function spawnWorker(extra = {}) {
  const child = fork(WORKER, [JSON.stringify({ ...spec, ...extra })], {
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  const w = { child, handled: 0, starts: 0, ends: 0, exited: false, listeners: new Set() };
  child.on("message", (m) => {
    if (m.t === "handled") w.handled = m.n;
    else if (m.t === "s") w.starts++;
    else if (m.t === "e") w.ends++;
    for (const l of w.listeners) l(m);
  });
  child.on("exit", () => {
    w.exited = true;
    for (const l of w.listeners) l({ t: "exit" });
  });
  w.next = (type) =>
    new Promise((resolve, reject) => {
      const l = (m) => {
        if (m.t === type) {
          w.listeners.delete(l);
          resolve(m);
        } else if (m.t === "exit") {
          w.listeners.delete(l);
          reject(new Error(`worker exited before "${type}"`));
        }
      };
      w.listeners.add(l);
    });
  w.ready = w.next("ready");
  return w;
}

async function closeWorker(w) {
  if (w.exited) return;
  const closed = w.next("closed").catch(() => undefined);
  w.child.send({ t: "close" });
  await Promise.race([closed, sleep(8000)]);
  if (!w.exited) w.child.kill("SIGKILL");
}

/** CPU (ms) of the database backends serving the worker processes, by pid. */
async function backendCpu() {
  if (!spec.db) return null;
  const rows = await admin(
    "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND application_name = 'bench-worker'",
    [spec.db],
  );
  const tick = 10; // USER_HZ = 100 on Linux
  const cpu = new Map();
  for (const { pid } of rows) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) * tick);
    } catch {
      // the backend ended between the two reads
    }
  }
  return cpu;
}

function cpuDelta(before, after) {
  if (!before || !after) return null;
  let ms = 0;
  for (const [pid, t] of after) ms += t - (before.get(pid) ?? 0);
  return ms;
}

async function w1() {
  const jobs = spec.jobs ?? W1_JOBS;
  const producer = await system.openProducer(spec);
  const all = keys(jobs);
  const e0 = performance.now();
  for (const bulk of chunk(all, BULK)) await producer.enqueueBulk(bulk);
  const e1 = performance.now();
  const workers = Array.from({ length: spec.procs }, () => spawnWorker({ reportEvery: 1000 }));
  await Promise.all(workers.map((w) => w.ready));
  const db0 = producer.serverCpuMs ? await producer.serverCpuMs() : await backendCpu();
  const t0 = performance.now();
  for (const w of workers) w.child.send({ t: "go" });
  const handled = () => workers.reduce((n, w) => n + w.handled, 0);
  const t1 = await waitFor(async () => (await producer.countDone()) >= jobs, {
    slowMs: 100,
    fastMs: 5,
    fast: () => handled() >= jobs - 1000 * spec.procs,
    timeoutMs: spec.timeoutMs,
  });
  const db1 = producer.serverCpuMs ? await producer.serverCpuMs() : await backendCpu();
  const stats = await Promise.all(
    workers.map((w) => {
      const s = w.next("stats");
      w.child.send({ t: "stats" });
      return s;
    }),
  );
  await Promise.all(workers.map(closeWorker));
  let singles = null;
  if (spec.instrument && producer.enqueueSingles) {
    const s0 = performance.now();
    await producer.enqueueSingles(keys(200, "s"));
    singles = { trees: 200, ms: performance.now() - s0 };
  }
  await producer.close();
  return {
    enqueuePerSec: jobs / ((e1 - e0) / 1000),
    completedPerSec: jobs / ((t1 - t0) / 1000),
    runMs: t1 - t0,
    jobs,
    nodeCpuMs: stats.reduce((n, s) => n + s.cpuMs, 0),
    dbCpuMs: typeof db0 === "number" ? db1 - db0 : cpuDelta(db0, db1),
    queries: spec.instrument ? mergeQueries(stats.map((s) => s.queries)) : null,
    singles,
    enqueueTiming: producer.timing ?? null,
  };
}

function mergeQueries(lists) {
  const byStatement = new Map();
  for (const list of lists) {
    for (const q of list ?? []) {
      const e = byStatement.get(q.statement) ?? { statement: q.statement, count: 0, ms: 0 };
      e.count += q.count;
      e.ms += q.ms;
      byStatement.set(q.statement, e);
    }
  }
  return [...byStatement.values()].sort((a, b) => b.count - a.count);
}

async function w2() {
  let rootStarted = false;
  const local = await system.openLocal(spec, async (key) => {
    if (key === "root") rootStarted = true;
  });
  await sleep(500); // the worker is idle
  const t0 = performance.now();
  await local.fanIn(W2_CHILDREN);
  const t1 = await waitFor(() => local.rootDone(), {
    slowMs: 20,
    fastMs: 2,
    fast: () => rootStarted,
    timeoutMs: spec.timeoutMs,
  });
  await local.close();
  return { fanInMs: t1 - t0 };
}

async function w3() {
  const started = new Map();
  const local = await system.openLocal(spec, async (key) => {
    const t = performance.now();
    started.get(key)?.(t);
  });
  await sleep(1000); // the worker is idle
  const random = seeded(hash(spec.label));
  const latencies = [];
  for (let i = 0; i < W3_JOBS; i++) {
    await sleep(50 + 500 * random());
    const key = `l${i}`;
    const began = new Promise((resolve) => started.set(key, resolve));
    const t0 = performance.now();
    await local.enqueueOne(key);
    const t1 = await Promise.race([began, sleep(10_000).then(() => Number.NaN)]);
    started.delete(key);
    latencies.push(t1 - t0);
  }
  await local.close();
  const sorted = latencies.filter(Number.isFinite).sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), missed: W3_JOBS - sorted.length };
}

async function w4() {
  const producer = await system.openProducer(spec);
  const all = keys(W4_JOBS);
  await producer.enqueueBulk(all);
  const logs = (i) => `${spec.scratch}/w4-${i}.log`;
  const workers = Array.from({ length: spec.procs }, (_, i) => spawnWorker({ jobMs: W4_JOB_MS, logFile: logs(i) }));
  const spare = spawnWorker({ jobMs: W4_JOB_MS, logFile: logs(spec.procs) });
  await Promise.all([...workers, spare].map((w) => w.ready));
  for (const w of workers) w.child.send({ t: "go" });
  const victim = workers[0];
  const ends = () => workers.reduce((n, w) => n + w.ends, 0);
  await waitFor(() => ends() >= W4_KILL_AFTER && victim.starts > victim.ends, {
    slowMs: 2,
    fastMs: 2,
    timeoutMs: spec.timeoutMs,
  });
  const killedAt = Date.now();
  victim.child.kill("SIGKILL");
  spare.child.send({ t: "go" });
  // Until all are done, or nothing moved for 6 s once a lease has had time to expire (a system
  // whose lock outlives the run never re-runs the killed worker's jobs).
  let done = 0;
  let lastProgress = Date.now();
  let allDoneAt = null;
  for (;;) {
    const now = await producer.countDone();
    if (now > done) {
      done = now;
      lastProgress = Date.now();
    }
    if (done >= W4_JOBS) {
      allDoneAt = Date.now();
      break;
    }
    const t = Date.now();
    if (t - killedAt > LEASE_MS + 4000 && t - lastProgress > 6000) break;
    if (t - killedAt > 40_000) break;
    await sleep(20);
  }
  await Promise.all([...workers, spare].map(closeWorker));
  await producer.close();
  // Who started and finished what, from the workers' synchronous logs.
  const starts = new Map();
  const endsByKey = new Map();
  let firstRerun = null;
  let inFlightAtKill = 0;
  for (let i = 0; i <= spec.procs; i++) {
    const text = await readFile(logs(i), "utf8").catch(() => "");
    for (const line of text.split("\n")) {
      const [kind, key, at] = line.split(" ");
      if (!key) continue;
      const map = kind === "S" ? starts : endsByKey;
      const list = map.get(key) ?? [];
      list.push({ at: Number(at), worker: i });
      map.set(key, list);
    }
  }
  for (const [key, list] of starts) {
    const before = list.filter((s) => s.at <= killedAt && s.worker === 0);
    const victimEnded = (endsByKey.get(key) ?? []).some((e) => e.worker === 0);
    if (before.length > 0 && !victimEnded) inFlightAtKill++;
    if (before.length > 0) {
      for (const s of list) {
        if (s.at > killedAt && (firstRerun === null || s.at < firstRerun)) firstRerun = s.at;
      }
    }
  }
  return {
    inFlightAtKill,
    killToFirstRerunMs: firstRerun === null ? null : firstRerun - killedAt,
    killToAllDoneMs: allDoneAt === null ? null : allDoneAt - killedAt,
    startedTwice: [...starts.values()].filter((l) => l.length > 1).length,
    ranToEndTwice: [...endsByKey.values()].filter((l) => l.length > 1).length,
    lost: W4_JOBS - done,
    waitedMs: Date.now() - killedAt,
  };
}

const workloads = { W1: w1, W2: w2, W3: w3, W4: w4 };
try {
  await system.prepare(spec);
  const result = await workloads[spec.workload]();
  process.stdout.write(`RESULT ${JSON.stringify({ concurrency: CONCURRENCY, ...result })}\n`);
  process.exit(0);
} catch (err) {
  process.stderr.write(`${spec.label} ${spec.workload} failed: ${err?.stack ?? err}\n`);
  process.exit(1);
}
