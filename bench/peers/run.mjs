// `pnpm bench:peers`: the engine side by side with the job queues users would otherwise wire up
// (issue 10). Every measurement runs in a fresh process under a timeout, each in its own
// database / Redis key prefix / SQLite file; one table with ratios from this one run.
//   node run.mjs [--only=<label substring>] [--workloads=W1,W2] [--no-breakdown]
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CONCURRENCY, LEASE_MS, admin, createDatabase, dropDatabase } from "./lib/env.mjs";
import { cleanup as cleanupRedis } from "./systems/bullmq.mjs";
import { renderReport } from "./report.mjs";

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const [k, v] = a.replace(/^--/, "").split("=");
    return [k, v ?? true];
  }),
);

export const SYSTEMS = [
  { label: "graphile-worker 0.17.3", module: "graphile", kind: "pg" },
  { label: "graphile batched", module: "graphile", batched: true, kind: "pg" },
  { label: "pg-boss 10.4.2 (batch)", module: "pgboss", kind: "pg" },
  { label: "BullMQ 6.7", module: "bullmq", kind: "redis" },
  { label: "ours, PostgreSQL", module: "ours", store: "pg", kind: "pg", ours: true },
  { label: "ours, SQLite", module: "ours", store: "sqlite", kind: "sqlite", ours: true },
  {
    label: "ours, PostgreSQL, 2 workers",
    module: "ours",
    store: "pg",
    procs: 2,
    kind: "pg",
    ours: true,
    only: ["W1", "W4"],
  },
  {
    label: 'ours, SQLite, durability "full"',
    module: "ours",
    store: "sqlite",
    durability: "full",
    kind: "sqlite",
    ours: true,
  },
];
const TIMEOUT_MS = { W1: 150_000, W2: 60_000, W3: 200_000, W4: 90_000 };

async function measure(system, workload, extra = {}) {
  const id = randomBytes(4).toString("hex");
  const scratch = mkdtempSync(join(tmpdir(), "apflow-peers-"));
  const spec = {
    ...system,
    procs: system.procs ?? 1,
    workload,
    scratch,
    timeoutMs: TIMEOUT_MS[workload] - 10_000,
    ...extra,
  };
  if (system.kind === "pg") spec.db = `apflow_peers_${id}`;
  if (system.kind === "redis") spec.prefix = `apflow-peers-${id}`;
  if (system.kind === "sqlite") spec.sqlitePath = join(scratch, "bench.db");
  const started = performance.now();
  try {
    if (spec.db) await createDatabase(spec.db);
    if (spec.db && spec.pgSettings) {
      for (const [k, v] of Object.entries(spec.pgSettings)) await admin(`ALTER DATABASE ${spec.db} SET ${k} = ${v}`);
    }
    const { code, stdout, stderr, timedOut } = await runProcess(spec, TIMEOUT_MS[workload]);
    const line = stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (timedOut) return { error: `timed out after ${TIMEOUT_MS[workload] / 1000} s` };
    if (code !== 0 || !line)
      return { error: (stderr.trim().split("\n").slice(-3).join(" | ") || `exit ${code}`).slice(0, 300) };
    return { ...JSON.parse(line.slice(7)), seconds: (performance.now() - started) / 1000 };
  } finally {
    if (spec.db) await dropDatabase(spec.db).catch(() => undefined);
    if (spec.prefix) await cleanupRedis(spec).catch(() => undefined);
    rmSync(scratch, { recursive: true, force: true });
  }
}

function runProcess(spec, timeoutMs) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [here("./measure.mjs"), JSON.stringify(spec)], {
      detached: true, // its own process group: a timeout ends the workers it forked too
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    child.stdout.on("data", (d) => {
      stdout += d;
    });
    child.stderr.on("data", (d) => {
      stderr += d;
      if (args.verbose) process.stderr.write(d);
    });
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      // Workers left behind by a measurement that failed early.
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {}
      resolve({ code, stdout, stderr, timedOut });
    });
  });
}

function uptime() {
  return loadavg()
    .map((n) => n.toFixed(2))
    .join(", ");
}

async function main() {
  await admin("SELECT 1").catch((err) => {
    throw new Error(`PostgreSQL does not answer (${err.message}); set APFLOW_BENCH_PG_URL`);
  });
  const workloads = (args.workloads ?? "W1,W2,W4,W3").split(",");
  const systems = SYSTEMS.filter((s) => !args.only || s.label.includes(args.only));
  const results = {};
  const loads = [`start ${uptime()}`];
  const t0 = performance.now();
  const note = (s, w, r) => {
    const figure = r.error ? `ERROR ${r.error}` : `${r.seconds.toFixed(1)} s`;
    console.log(`  ${w} ${s.label}: ${figure}`);
  };
  for (const w of workloads.filter((w) => w !== "W3")) {
    console.log(`${w} (load ${uptime()})`);
    for (const s of systems) {
      if (s.only && !s.only.includes(w)) continue;
      const r = await measure(s, w);
      (results[s.label] ??= {})[w] = r;
      note(s, w, r);
    }
  }
  if (workloads.includes("W3")) {
    // 200 jobs × a 50–550 ms idle each is ~60 s per system: the systems run it at the same time,
    // each in its own process with its own idle sequence (the machine is mostly idle meanwhile).
    console.log(`W3, all systems at once (load ${uptime()})`);
    const w3 = systems.filter((s) => !s.only || s.only.includes("W3"));
    const rs = await Promise.all(w3.map((s) => measure(s, "W3")));
    w3.forEach((s, i) => {
      (results[s.label] ??= {}).W3 = rs[i];
      note(s, "W3", rs[i]);
    });
  }
  let breakdown = null;
  if (!args["no-breakdown"] && (!args.only || "ours, PostgreSQL".includes(args.only))) {
    console.log(`breakdown: ours on PostgreSQL, W1 of 5,000 with every statement counted (load ${uptime()})`);
    breakdown = await measure(SYSTEMS[4], "W1", { instrument: true, jobs: 5000 });
    if (breakdown.error) console.log(`  ERROR ${breakdown.error}`);
    // The same with commits not waiting for the WAL flush (a setting of the bench database only):
    // how much of the time is the flush of each commit, under the one events lock.
    console.log(`breakdown: the same with synchronous_commit = off on the bench database (load ${uptime()})`);
    breakdown.asyncCommit = await measure(SYSTEMS[4], "W1", {
      instrument: true,
      jobs: 5000,
      pgSettings: { synchronous_commit: "off" },
    });
  }
  loads.push(`end ${uptime()}`);
  const report = renderReport({
    systems: systems.map((s) => s.label),
    results,
    breakdown,
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      postgres: (await admin("SHOW server_version"))[0].server_version,
      cpus: (await import("node:os")).cpus().length,
      loads,
      minutes: (performance.now() - t0) / 60_000,
      concurrency: CONCURRENCY,
      leaseMs: LEASE_MS,
    },
  });
  console.log(`\n${report}`);
  const out = here("../results");
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "peers-last.md"), `${report}\n`);
  writeFileSync(join(out, "peers-last.json"), `${JSON.stringify({ results, breakdown }, null, 2)}\n`);
  console.log(`\n(saved to bench/results/peers-last.md and .json)`);
}

await main();
