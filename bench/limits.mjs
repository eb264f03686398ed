// Claim throughput on PostgreSQL with limits on versus off, in one run (the queue-control target in
// bench/README.md: limits on within 1.3x of off). 1,000 users, four executors; tasks are single-task
// trees queued up front, each owned by a random user and naming a random executor. The loop claims
// like an engine with 200 slots: claim up to 50, and once 150 are in flight complete the oldest 50
// (`finishTasks`), so the running set the limits count is 150-200 tasks. Only the claims are timed;
// the two modes run on two databases at once, their claims interleaved.
// Limits on: per-user maxRunning 2 (the default for every user), global maxRunning 180 and executor
// e0 maxRunning 30 — all three bind during the run. The median of each over the rounds is printed
// with their ratio. Needs the built dist (`pnpm build`) and PostgreSQL
// (APFLOW_BENCH_PG_URL, default the local server; skipped with a note when it does not answer).
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { Engine, Registry } from "../packages/core/dist/index.js";
import { createPrismaStore } from "../packages/storage-prisma/dist/index.js";

const require = createRequire(new URL("../packages/storage-prisma/package.json", import.meta.url));
const pg = require("pg");
const PG_ADMIN_URL = process.env.APFLOW_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

const USERS = 1000;
const EXECUTORS = ["e0", "e1", "e2", "e3"];
const TASKS = Number(process.env.APFLOW_BENCH_LIMIT_TASKS ?? 12_000);
const ROUNDS = Number(process.env.APFLOW_BENCH_LIMIT_ROUNDS ?? 3);
const BATCH = 50;
const IN_FLIGHT = 150;
/** The target's scenario: every kind of limit in force, binding now and then (users at 2). */
const RULES = [
  { scope: "user", maxRunning: 2 },
  { scope: "global", maxRunning: 1000 },
  { scope: "executor", key: "e0", maxRunning: 100 },
];
/** Also printed: limits that bind on most claims (each claim takes what fits, so fewer per claim). */
const BINDING = [
  { scope: "user", maxRunning: 2 },
  { scope: "global", maxRunning: 180 },
  { scope: "executor", key: "e0", maxRunning: 30 },
];

async function admin(sql) {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 2000 });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** A small deterministic generator, so both modes queue the same tasks. */
function random(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function queueTasks(store) {
  const registry = new Registry();
  for (const id of EXECUTORS) registry.registerExecutor({ id, execute: () => null });
  const engine = new Engine({ store, registry, claim: false });
  const next = random(42);
  for (let i = 0; i < TASKS; i += 1000) {
    const trees = [];
    for (let j = i; j < Math.min(TASKS, i + 1000); j++) {
      trees.push({
        name: `t${j}`,
        userId: `user-${Math.floor(next() * USERS)}`,
        params: { executorId: EXECUTORS[Math.floor(next() * EXECUTORS.length)] },
      });
    }
    await engine.submit(trees);
  }
  await engine.stop();
}

/**
 * One engine-like loop on one store: claim up to 50 and, once 150 are in flight, complete the
 * oldest 50. `step()` runs one round and returns false when every task was claimed.
 */
function drainer(store) {
  const inFlight = [];
  const stats = { claimMs: 0, claims: 0, claimed: 0 };
  const now = () => new Date();
  return {
    stats,
    async step() {
      if (stats.claimed >= TASKS) return false;
      const t0 = performance.now();
      const result = await store.claimReady({ owner: "bench", limit: BATCH, leaseMs: 60_000, now: now() });
      stats.claimMs += performance.now() - t0;
      stats.claims++;
      stats.claimed += result.claimed.length;
      inFlight.push(...result.claimed);
      if (inFlight.length >= IN_FLIGHT || result.claimed.length === 0) {
        const done = inFlight.splice(0, BATCH);
        if (done.length === 0) throw new Error("nothing claimable and nothing in flight");
        await store.finishTasks(
          done.map((c) => ({
            taskId: c.task.id,
            leaseToken: c.leaseToken,
            outcome: { status: "completed", result: null },
          })),
          now(),
        );
      }
      return true;
    },
  };
}

async function database() {
  const name = `apflow_bench_limits_${randomBytes(5).toString("hex")}`;
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const store = await createPrismaStore({ url: url.toString(), migrate: true, poolSize: 4 });
  return {
    store,
    async drop() {
      await store.close();
      await admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/**
 * Both modes in one round, each on its own database with the same tasks, their claims interleaved
 * (one round of each in turn) so that the machine's noise falls on both alike.
 */
async function round(rules) {
  const off = await database();
  const on = await database();
  try {
    for (const rule of rules) await on.store.limits.set(rule);
    await queueTasks(off.store);
    await queueTasks(on.store);
    await admin("VACUUM ANALYZE").catch(() => {});
    const a = drainer(off.store);
    const b = drainer(on.store);
    let more = true;
    while (more) more = (await a.step()) | (await b.step());
    const rate = (s) => ({
      perSecond: s.claimed / (s.claimMs / 1000),
      claims: s.claims,
      msPerClaim: s.claimMs / s.claims,
    });
    return { off: rate(a.stats), on: rate(b.stats) };
  } finally {
    await off.drop();
    await on.drop();
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run() {
  try {
    await admin("SELECT 1");
  } catch {
    console.log("PostgreSQL not reachable (APFLOW_BENCH_PG_URL): limits bench skipped");
    return;
  }
  const off = [];
  const on = [];
  for (let i = 0; i < ROUNDS; i++) {
    const r = await round(RULES);
    off.push(r.off);
    on.push(r.on);
  }
  const fmt = (r) =>
    `${Math.round(r.perSecond).toLocaleString("en")} tasks/s (${r.claims} claims, ${r.msPerClaim.toFixed(2)} ms each)`;
  const offRate = median(off.map((r) => r.perSecond));
  const onRate = median(on.map((r) => r.perSecond));
  console.log(
    `PostgreSQL claim throughput, ${TASKS.toLocaleString("en")} tasks, ${USERS} users, batches of ${BATCH}, 150-200 in flight:`,
  );
  for (let i = 0; i < ROUNDS; i++) console.log(`  round ${i + 1}: limits off ${fmt(off[i])}; limits on ${fmt(on[i])}`);
  console.log(`  median limits off: ${Math.round(offRate).toLocaleString("en")} tasks/s`);
  console.log(`  median limits on:  ${Math.round(onRate).toLocaleString("en")} tasks/s (${describe(RULES)})`);
  console.log(`  slowdown: ${(offRate / onRate).toFixed(2)}x (target <= 1.3x)`);
  const bound = await round(BINDING);
  console.log(`  limits that bind on most claims (${describe(BINDING)}):`);
  console.log(`    limits off ${fmt(bound.off)}; limits on ${fmt(bound.on)}`);
  console.log(
    `    per claim: ${(bound.on.msPerClaim / bound.off.msPerClaim).toFixed(2)}x the time; fewer tasks fit per claim`,
  );
}

function describe(rules) {
  return rules.map((r) => `${r.scope}${r.key ? ` ${r.key}` : ""} ${r.maxRunning}`).join(", ");
}

if (import.meta.url === `file://${process.argv[1]}`) await run();
