// The Prisma store under the engine (the performance targets in bench/README.md): a 10,000-task no-op tree on embedded SQLite (every
// transition committed in its own transaction) and on PostgreSQL (one process). Needs the built
// dist of core and storage-prisma (`pnpm build`). PostgreSQL: APFLOW_BENCH_PG_URL, default the
// local server; skipped with a note when it does not answer.
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine, Registry } from "../packages/core/dist/index.js";
import { createPrismaStore } from "../packages/storage-prisma/dist/index.js";
import { formatRate, mixedTree } from "./trees.mjs";

const require = createRequire(new URL("../packages/storage-prisma/package.json", import.meta.url));
const pg = require("pg");
const PG_ADMIN_URL = process.env.APFLOW_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

function registry() {
  const r = new Registry();
  r.registerExecutor({ id: "noop", execute: () => null });
  return r;
}

async function runTree(store, size, concurrency) {
  const engine = new Engine({ store, registry: registry(), concurrency });
  await engine.start();
  const tasks = mixedTree(size);
  const t0 = performance.now();
  const [root] = await engine.createTree(tasks);
  const t1 = performance.now();
  const handle = await engine.execute(root.id);
  const outcome = await handle.done;
  const t2 = performance.now();
  await engine.stop();
  if (outcome.status !== "completed" || outcome.tasks.length !== tasks.length) {
    throw new Error(`tree did not complete: ${outcome.status}`);
  }
  return { size: tasks.length, createMs: t1 - t0, runMs: t2 - t1 };
}

async function onSqlite(size, concurrency) {
  const dir = mkdtempSync(join(tmpdir(), "apflow-bench-"));
  try {
    const store = await createPrismaStore({ url: `file:${join(dir, "bench.db")}` });
    try {
      return await runTree(store, size, concurrency);
    } finally {
      await store.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function admin(sql) {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function onPostgres(size, concurrency) {
  const name = `apflow_bench_${randomBytes(5).toString("hex")}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  try {
    const store = await createPrismaStore({ url: url.toString(), migrate: true, poolSize: 16 });
    try {
      return await runTree(store, size, concurrency);
    } finally {
      await store.close();
    }
  } finally {
    await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  }
}

function row(label, r) {
  return {
    store: label,
    tasks: r.size,
    "create ms": Math.round(r.createMs),
    "run ms": Math.round(r.runMs),
    "run tasks/s": formatRate(r.size / (r.runMs / 1000)),
  };
}

export async function run({ size = 10_000, concurrency = 64 } = {}) {
  const figures = {};
  const rows = [];
  await onSqlite(1_000, concurrency); // warm-up
  const sqlite = await onSqlite(size, concurrency);
  figures.sqliteTasksPerSecond = sqlite.size / (sqlite.runMs / 1000);
  rows.push(row("SQLite (file, WAL)", sqlite));
  let pgNote = "";
  try {
    await admin("SELECT 1");
    const postgres = await onPostgres(size, concurrency);
    figures.postgresTasksPerSecond = postgres.size / (postgres.runMs / 1000);
    rows.push(row("PostgreSQL (1 process)", postgres));
  } catch (err) {
    pgNote = `PostgreSQL skipped: ${err instanceof Error ? err.message : String(err)}`;
  }
  console.log(`\nengine on the Prisma store (concurrency ${concurrency}, no-op executor, every transition committed)`);
  console.table(rows);
  if (pgNote) console.log(pgNote);
  const ok = figures.sqliteTasksPerSecond >= 10_000;
  console.log(`target: SQLite >= 10,000 tasks/s: ${formatRate(figures.sqliteTasksPerSecond)} ${ok ? "ok" : "MISSED"}`);
  return figures;
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
