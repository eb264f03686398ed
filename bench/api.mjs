// Server benchmark (SPEC §11): tasks.get requests/s against the API server on embedded SQLite
// (the MemoryStore when the Prisma store is not built). The server runs in its own process (one
// event loop, one core); autocannon drives it from this one. Figures are printed, never asserted.
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const apiDir = join(root, "packages/api-a2a");
const requireFromApi = createRequire(join(apiDir, "package.json"));
/** A workspace package's built ESM entry (run `pnpm build` first). */
const importDist = (dir) => import(pathToFileURL(join(root, dir, "dist/index.js")).href);

const DURATION_S = Number(process.env.APFLOW_BENCH_API_SECONDS ?? 5);
const CONNECTIONS = 50;
const PIPELINING = 1;

/** Child mode: open the store, create one tree, serve, print {url, taskId, store} on stdout. */
async function serve(dbFile) {
  const core = await importDist("packages/core");
  const api = await importDist("packages/api-a2a");
  let store;
  let storeName;
  try {
    const prisma = await importDist("packages/storage-prisma");
    store = await prisma.createPrismaStore({ url: `file:${dbFile}` });
    storeName = "SQLite (storage-prisma)";
  } catch (err) {
    store = new core.MemoryStore();
    storeName = `MemoryStore (Prisma store unavailable: ${err.message})`;
  }
  const engine = new core.Engine({ store });
  const app = api.createApp({ engine, logger: api.createLogger({ level: "silent" }) });
  const [task] = await engine.createTree([{ name: "bench", params: { executorId: "aggregate_results" } }]);
  const server = await api.startServer({ app, port: 0, host: "127.0.0.1" });
  process.stdout.write(`${JSON.stringify({ url: server.url, taskId: task.id, store: storeName })}\n`);
  process.on("SIGTERM", async () => {
    await server.close();
    await store.close();
    process.exit(0);
  });
}

export async function run() {
  const autocannon = requireFromApi("autocannon");
  const dir = mkdtempSync(join(tmpdir(), "apflow-bench-api-"));
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), "--serve", join(dir, "bench.db")], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const info = await new Promise((resolve, reject) => {
      let buf = "";
      child.stdout.on("data", (d) => {
        buf += d;
        const nl = buf.indexOf("\n");
        if (nl >= 0) resolve(JSON.parse(buf.slice(0, nl)));
      });
      child.once("exit", (code) => reject(new Error(`bench server exited with ${code}`)));
    });
    const body = JSON.stringify({ jsonrpc: "2.0", id: 1, method: "tasks.get", params: { taskId: info.taskId } });
    const opts = {
      url: `${info.url}/tasks`,
      method: "POST",
      headers: { "content-type": "application/json" },
      body,
      connections: CONNECTIONS,
      pipelining: PIPELINING,
    };
    await autocannon({ ...opts, duration: 1 }); // warm-up
    const result = await autocannon({ ...opts, duration: DURATION_S });
    const rps = Math.round(result.requests.average);
    console.log(`store: ${info.store}`);
    console.log(
      `tasks.get: ${rps} requests/s (target >= 5000), latency p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
        `${result.non2xx} non-2xx, ${result.errors} errors, ${CONNECTIONS} connections, ${DURATION_S} s, server in one process`,
    );
    return { rps, store: info.store };
  } finally {
    child.kill("SIGTERM");
    await new Promise((resolve) => child.once("exit", resolve));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === "--serve") {
  await serve(process.argv[3]);
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await run();
}
