// The finished-but-unrecorded window (issue 12 item 6): how long a task whose executor returned
// waits for its outcome to be committed. A SIGKILL in that window makes the task run again
// elsewhere although it ran to the end. One engine on PostgreSQL (concurrency 8) runs 1,600
// one-task trees of 20 ms; per task: executor return → its task.completed event on the bus
// (published after the commit). Printed: the window's p50/p99, and the mean number of tasks
// inside it at any instant (what a kill at a random moment catches, on this node).
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { loadavg } from "node:os";

const ROOT = process.env.APFLOW_BENCH_ROOT ?? new URL("../", import.meta.url).pathname;
const { Engine, Registry } = await import(`${ROOT}packages/core/dist/index.js`);
const { createPrismaStore, migrate } = await import(`${ROOT}packages/storage-prisma/dist/index.js`);
const require = createRequire(new URL("../packages/storage-prisma/package.json", import.meta.url));
const pg = require("pg");
const PG_ADMIN_URL = process.env.APFLOW_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const TASKS = Number(process.env.APFLOW_BENCH_WINDOW_TASKS ?? 1600);
const JOB_MS = 20;

const name = `apflow_bench_${randomBytes(5).toString("hex")}`;
const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(PG_ADMIN_URL);
url.pathname = `/${name}`;
try {
  await migrate({ url: url.toString() });
  const store = await createPrismaStore({ url: url.toString() });
  const ended = new Map();
  const windows = [];
  const r = new Registry();
  r.registerExecutor({
    id: "nap",
    execute: async (_inputs, ctx) => {
      await new Promise((res) => setTimeout(res, JOB_MS));
      ended.set(ctx.task.id, performance.now());
      return null;
    },
  });
  const engine = new Engine({ store, registry: r, concurrency: 8, pollIntervalMs: 50 });
  let done = 0;
  let resolveAll;
  const all = new Promise((res) => (resolveAll = res));
  engine.bus.subscribe((e) => {
    if (e.type !== "task.completed") return;
    const t = ended.get(e.taskId);
    if (t !== undefined) windows.push(performance.now() - t);
    if (++done === TASKS) resolveAll();
  });
  for (let b = 0; b < TASKS / 200; b++)
    await engine.submit(
      Array.from({ length: 200 }, (_, i) => ({ id: `t${b}-${i}`, name: "n", params: { executorId: "nap" } })),
    );
  const t0 = performance.now();
  await engine.start();
  await all;
  const wall = performance.now() - t0;
  await engine.stop();
  await store.close();
  windows.sort((a, b) => a - b);
  const q = (p) => windows[Math.min(windows.length - 1, Math.floor(p * windows.length))].toFixed(2);
  const sum = windows.reduce((a, b) => a + b, 0);
  console.log(
    `finished-but-unrecorded window, ${TASKS} tasks of ${JOB_MS} ms, concurrency 8, load ${loadavg()[0].toFixed(2)}`,
  );
  console.log(`| window p50 ms | p99 ms | tasks inside it at a random instant | tasks/s |\n|---|---|---|---|`);
  console.log(`| ${q(0.5)} | ${q(0.99)} | ${(sum / wall).toFixed(3)} | ${((TASKS / wall) * 1000).toFixed(0)} |`);
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
