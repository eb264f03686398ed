// Server benchmark (the performance targets in bench/README.md): tasks.get requests/s against the API server on embedded SQLite
// (the MemoryStore when the Prisma store is not built). The server runs in its own process (one
// event loop, one JS thread); autocannon drives it from this one, on the same machine. Besides
// requests/s it prints the server's CPU time per request (user + system, from the server process
// itself), which stays meaningful when the machine is shared and requests/s are noisy. Figures are
// printed, never asserted.
//
// Environment: APFLOW_BENCH_API_SECONDS (per run, default 5), APFLOW_BENCH_API_RUNS (default 3),
// APFLOW_BENCH_API_LOG_LEVEL (server log level, default "silent"; "info" logs one access line per
// request to the server's stdout, which goes to /dev/null), APFLOW_BENCH_API_AUTH=1 (JWT auth on:
// HS256, every request carries a bearer token of a non-admin user who owns the task).
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism, cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const apiDir = join(root, "packages/api-a2a");
const requireFromApi = createRequire(join(apiDir, "package.json"));
/** A workspace package's built ESM entry (run `pnpm build` first). */
const importDist = (dir) => import(pathToFileURL(join(root, dir, "dist/index.js")).href);

const DURATION_S = Number(process.env.APFLOW_BENCH_API_SECONDS ?? 5);
const RUNS = Math.max(1, Number(process.env.APFLOW_BENCH_API_RUNS ?? 3));
const LOG_LEVEL = process.env.APFLOW_BENCH_API_LOG_LEVEL ?? "silent";
const AUTH = process.env.APFLOW_BENCH_API_AUTH === "1";
const JWT_SECRET = "bench-secret-bench-secret-bench-secret";
const CONNECTIONS = 50;
const PIPELINING = 1;

/** Child mode: open the store, create one tree, serve; talks to the parent over IPC. */
async function serve(dbFile) {
  const core = await importDist("packages/core");
  const api = await importDist("packages/api-a2a");
  let store;
  let storeName;
  try {
    const prisma = await importDist("packages/storage-prisma");
    store = await prisma.createPrismaStore({ url: `file:${dbFile}` });
    storeName = "SQLite file (storage-prisma)";
  } catch (err) {
    store = new core.MemoryStore();
    storeName = `MemoryStore (Prisma store unavailable: ${err.message})`;
  }
  const engine = new core.Engine({ store });
  const app = api.createApp({
    engine,
    logger: api.createLogger({ level: LOG_LEVEL }),
    ...(AUTH ? { auth: { jwtSecret: JWT_SECRET } } : {}),
  });
  const userId = AUTH ? "bench-user" : null;
  const [task] = await engine.createTree([{ name: "bench", params: { executorId: "aggregate_results" } }], {
    userId,
  });
  const token = AUTH ? await api.createToken({ secret: JWT_SECRET, sub: userId }) : null;
  const server = await api.startServer({ app, port: 0, host: "127.0.0.1" });
  process.on("message", (msg) => {
    if (msg === "usage") process.send({ cpu: process.cpuUsage(), at: performance.now() });
  });
  process.on("SIGTERM", async () => {
    await server.close();
    await store.close();
    process.exit(0);
  });
  process.send({ url: server.url, taskId: task.id, store: storeName, token });
}

/** The server's CPU time (µs) and a monotonic clock (ms), read inside the server process. */
function usage(child) {
  return new Promise((resolve) => {
    child.once("message", (m) => resolve({ cpuUs: m.cpu.user + m.cpu.system, at: m.at }));
    child.send("usage");
  });
}

const range = (xs, digits = 0) => {
  const f = (x) => x.toFixed(digits);
  const lo = Math.min(...xs);
  const hi = Math.max(...xs);
  return lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`;
};
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};

export async function run() {
  const autocannon = requireFromApi("autocannon");
  const dir = mkdtempSync(join(tmpdir(), "apflow-bench-api-"));
  // The server's stdout (its log lines, if any) goes to /dev/null; the ready message comes over IPC.
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--serve", join(dir, "bench.db")], {
    stdio: ["ignore", "ignore", "inherit", "ipc"],
    env: { ...process.env, APFLOW_BENCH_API_LOG_LEVEL: LOG_LEVEL },
  });
  try {
    const info = await new Promise((resolve, reject) => {
      child.once("message", resolve);
      child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
    });
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks.get", params: { taskId: info.taskId } });
    const opts = {
      url: `${info.url}/tasks`,
      method: "POST",
      headers: {
        "content-type": "application/json",
        ...(info.token ? { authorization: `Bearer ${info.token}` } : {}),
      },
      body,
      connections: CONNECTIONS,
      pipelining: PIPELINING,
    };
    await autocannon({ ...opts, duration: 1 }); // warm-up
    const runs = [];
    for (let i = 0; i < RUNS; i++) {
      const before = await usage(child);
      const result = await autocannon({ ...opts, duration: DURATION_S });
      const after = await usage(child);
      const requests = result.requests.total;
      runs.push({
        rps: result.requests.average,
        cpuUsPerRequest: (after.cpuUs - before.cpuUs) / Math.max(1, requests),
        coresBusy: (after.cpuUs - before.cpuUs) / 1000 / (after.at - before.at),
        p50: result.latency.p50,
        p99: result.latency.p99,
        non2xx: result.non2xx,
        errors: result.errors,
      });
    }
    const rps = Math.round(median(runs.map((r) => r.rps)));
    const cpuUsPerRequest = median(runs.map((r) => r.cpuUsPerRequest));
    const cores = availableParallelism();
    console.log(`store: ${info.store}; server log level: ${LOG_LEVEL}; auth: ${AUTH ? "JWT HS256" : "off"}`);
    console.log(
      `server: one Node process (one event loop, one JS thread) on a machine with ${cores} core(s) ` +
        `(${cpus()[0]?.model?.trim() ?? "unknown CPU"}); autocannon runs in this process on the same machine`,
    );
    console.log(
      `tasks.get: ${range(runs.map((r) => r.rps))} requests/s over ${RUNS} run(s) of ${DURATION_S} s (median ${rps}, target >= 5000), ` +
        `${CONNECTIONS} connections, pipelining ${PIPELINING}`,
    );
    console.log(
      `server CPU: ${range(
        runs.map((r) => r.cpuUsPerRequest),
        1,
      )} µs per request (user + system; median ${cpuUsPerRequest.toFixed(1)} µs → at most ` +
        `${Math.round(1e6 / cpuUsPerRequest)} requests/s per fully used core), ` +
        `${range(
          runs.map((r) => r.coresBusy),
          2,
        )} cores busy (GC and libuv threads count too)`,
    );
    console.log(
      `latency p50 ${range(runs.map((r) => r.p50))} ms, p99 ${range(runs.map((r) => r.p99))} ms; ` +
        `${runs.reduce((a, r) => a + r.non2xx, 0)} non-2xx, ${runs.reduce((a, r) => a + r.errors, 0)} errors`,
    );
    return { rps, cpuUsPerRequest, store: info.store, cores, runs };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--serve") {
  await serve(process.argv[3]);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await run();
}
