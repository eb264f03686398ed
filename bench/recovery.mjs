// Kill-one-worker recovery time (issue 12): three real `apflow worker` processes on one
// PostgreSQL database (wake-ups at their default, LISTEN/NOTIFY) run 600 independent tasks of
// 50 ms submitted by a producer engine (claim: false) in this process; once 150 completed, the
// worker holding the most leases gets SIGKILL. Printed: kill -> first re-run of a task it held,
// kill -> every task completed, its tasks in flight, tasks completed twice (from the events) and
// tasks lost. With short node timings and with the defaults (lease 30 s, heartbeat 2 s, dead after
// 10 s); each as a SIGKILL on this machine and as a machine lost (below). Recovery is bounded by
// deadAfterMs (the coordinator hands the dead node's leases back at once), not by the lease. Needs a build and PostgreSQL (APFLOW_BENCH_PG_URL).
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { loadavg as osLoad } from "node:os";
import { fileURLToPath } from "node:url";
import { Engine, Registry } from "../packages/core/dist/index.js";
import { createPrismaStore, migrate } from "../packages/storage-prisma/dist/index.js";

const require = createRequire(new URL("../packages/distributed/package.json", import.meta.url));
const pg = require("pg");
const PG_ADMIN_URL = process.env.APFLOW_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const CLI = fileURLToPath(new URL("../packages/cli/dist/bin.js", import.meta.url));
const PLUGIN = fileURLToPath(new URL("../packages/distributed/src/test-support/plugin.mjs", import.meta.url));
const TASKS = 600;
const KILL_AFTER = 150;

const SHORT = { leaseMs: 8000, heartbeatMs: 300, deadAfterMs: 2000 };
const DEFAULTS = { leaseMs: 30_000, heartbeatMs: 2000, deadAfterMs: 10_000 };
// "kill": SIGKILL on this machine, where the coordinator sees the pid gone and hands back at once.
// "machine lost": SIGSTOP (no heartbeat, the pid still there, as for a node on a machine that
// vanished): found dead after deadAfterMs; SIGKILLed after the run.
const ROWS = [
  ["SIGKILL, lease 8 s, heartbeat 300 ms, dead after 2 s", SHORT, "SIGKILL"],
  ["machine lost (SIGSTOP), lease 8 s, heartbeat 300 ms, dead after 2 s", SHORT, "SIGSTOP"],
  ["SIGKILL, defaults (lease 30 s, heartbeat 2 s, dead after 10 s)", DEFAULTS, "SIGKILL"],
  ["machine lost (SIGSTOP), defaults", DEFAULTS, "SIGSTOP"],
];

const loadavg = () =>
  osLoad()
    .map((x) => x.toFixed(2))
    .join(", ");
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function withDatabase(fn) {
  const name = `apflow_bench_recovery_${randomBytes(5).toString("hex")}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const pool = new pg.Pool({ connectionString: url.toString(), max: 2 });
  try {
    await migrate({ url: url.toString() });
    return await fn(url.toString(), async (text, params) => (await pool.query(text, params)).rows);
  } finally {
    await pool.end();
    const c = new pg.Client({ connectionString: PG_ADMIN_URL });
    await c.connect();
    await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await c.end();
  }
}

function startWorker(url, nodeId, t) {
  const child = spawn(
    process.execPath,
    [
      CLI,
      "worker",
      "--node-id",
      nodeId,
      "--concurrency",
      "8",
      "--lease-ms",
      String(t.leaseMs),
      "--heartbeat-ms",
      String(t.heartbeatMs),
      "--dead-after-ms",
      String(t.deadAfterMs),
      "--log-level",
      "error",
    ],
    {
      env: {
        PATH: process.env.PATH ?? "",
        HOME: process.env.HOME ?? "/tmp",
        APFLOW_DATABASE_URL: url,
        APFLOW_PLUGINS: PLUGIN,
        APFLOW_NODE_ID: nodeId,
      },
      stdio: ["ignore", "ignore", "pipe"],
    },
  );
  let output = "";
  child.stderr.on("data", (d) => (output += d.toString()));
  const exited = new Promise((resolve) => child.once("exit", resolve));
  return {
    nodeId,
    child,
    exited,
    get started() {
      return output.includes("Ctrl-C stops it");
    },
  };
}

async function until(check, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await sleep(20);
  }
}

async function measure(timings, signal) {
  return withDatabase(async (url, query) => {
    const workers = ["r1", "r2", "r3"].map((id) => startWorker(url, id, timings));
    try {
      await until(() => workers.every((w) => w.started), 60_000, "workers started");
      const registry = new Registry();
      registry.registerExecutor({ id: "nap", execute: () => null });
      const store = await createPrismaStore({ url });
      const producer = new Engine({ store, registry, claim: false });
      await producer.start();
      const trees = Array.from({ length: TASKS }, (_, i) => ({
        name: `n${i}`,
        schemas: { method: "nap" },
        inputs: { ms: 50 },
      }));
      const submitted = [];
      for (let i = 0; i < trees.length; i += 200) submitted.push(...(await producer.submit(trees.slice(i, i + 200))));
      const started = Date.now();
      const victim = await until(
        async () => {
          const [{ n }] = await query("SELECT count(*)::int AS n FROM tasks WHERE status = 'completed'");
          if (n < KILL_AFTER) return null;
          const [top] = await query(
            "SELECT lease_owner AS owner FROM tasks WHERE status = 'in_progress' AND lease_owner LIKE 'r%' GROUP BY lease_owner ORDER BY count(*) DESC LIMIT 1",
          );
          return workers.find((w) => w.nodeId === top?.owner) ?? null;
        },
        120_000,
        "a worker holding leases",
      );
      const held = (
        await query("SELECT id FROM tasks WHERE status = 'in_progress' AND lease_owner = $1", [victim.nodeId])
      ).map((r) => r.id);
      victim.child.kill(signal);
      const killedAt = Date.now();
      if (signal === "SIGKILL") await victim.exited;
      await until(
        async () => (await query("SELECT count(*)::int AS n FROM tasks WHERE status = 'completed'"))[0].n === TASKS,
        timings.leaseMs + 60_000,
        "every task completed",
      );
      const allDoneMs = Date.now() - killedAt;
      const reruns = await query(
        "SELECT min(started_at) AS at, count(DISTINCT task_id)::int AS n FROM attempts WHERE attempt > 1",
      );
      const [{ twice }] = await query(
        "SELECT count(*)::int AS twice FROM (SELECT task_id FROM events WHERE type = 'task.completed' GROUP BY task_id HAVING count(*) > 1) x",
      );
      const [{ lost }] = await query("SELECT count(*)::int AS lost FROM tasks WHERE status <> 'completed'");
      await producer.stop();
      await store.close();
      return {
        beforeKillMs: killedAt - started,
        firstRerunMs: reruns[0]?.at ? new Date(reruns[0].at).getTime() - killedAt : null,
        allDoneMs,
        inFlight: held.length,
        rerun: reruns[0]?.n ?? 0,
        twice,
        lost,
        submitted: submitted.length,
      };
    } finally {
      for (const w of workers) {
        w.child.kill("SIGCONT");
        w.child.kill("SIGKILL");
      }
      await Promise.all(workers.map((w) => w.exited));
    }
  });
}

export async function run() {
  try {
    const c = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
    await c.connect();
    await c.end();
  } catch {
    console.log("PostgreSQL not reachable: kill-one-worker recovery skipped");
    return;
  }
  console.log(
    `kill-one-worker recovery: 3 apflow worker processes (concurrency 8, wake-ups postgres), ${TASKS} tasks of 50 ms, ` +
      `the busiest one killed (or stopped) once ${KILL_AFTER} completed; load ${loadavg()}`,
  );
  console.log(
    "| timings | kill → first re-run, ms | kill → all done, ms | in flight on the killed node | re-run | completed twice | lost |",
  );
  console.log("| --- | --- | --- | --- | --- | --- | --- |");
  for (const [label, timings, signal] of ROWS) {
    try {
      const r = await measure(timings, signal);
      console.log(
        `| ${label} | ${r.firstRerunMs ?? "—"} | ${r.allDoneMs} | ${r.inFlight} | ${r.rerun} | ${r.twice} | ${r.lost} |`,
      );
    } catch (err) {
      console.log(`| ${label} | failed: ${err.message} | | | | | |`);
    }
  }
  console.log(`load at the end ${loadavg()}`);
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
