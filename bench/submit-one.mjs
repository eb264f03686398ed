// Where one small submit's time goes (issue 12: the submit is most of the cross-process pickup):
// a producer engine (claim: false) on PostgreSQL submits one-task trees one at a time after an idle
// of 20–100 ms (as bench/wakeups.mjs does); prints the submit's p50/p99, the store call's share,
// and the statements per submit (round trips, counted on the pool's connections).
import { randomBytes } from "node:crypto";
import { createRequire } from "node:module";
import { Engine, Registry } from "../packages/core/dist/index.js";
import { createPrismaStore, migrate } from "../packages/storage-prisma/dist/index.js";

const require = createRequire(new URL("../packages/storage-prisma/package.json", import.meta.url));
const pg = require("pg");
const PG_ADMIN_URL = process.env.APFLOW_BENCH_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";
const SAMPLES = Number(process.env.APFLOW_BENCH_SUBMIT_SAMPLES ?? 200);

const statements = new Map();
const original = pg.Client.prototype.query;
let counting = false;
pg.Client.prototype.query = function (config, ...rest) {
  if (counting) {
    const text = typeof config === "string" ? config : config.text;
    const key = text.replace(/\s+/g, " ").slice(0, 60);
    const t = performance.now();
    const entry = statements.get(key) ?? { n: 0, ms: [] };
    statements.set(key, entry);
    entry.n++;
    const done = () => entry.ms.push(performance.now() - t);
    const cb = rest.at(-1);
    if (typeof cb === "function")
      rest[rest.length - 1] = (...a) => {
        done();
        return cb(...a);
      };
    const result = original.call(this, config, ...rest);
    if (typeof cb !== "function" && result && typeof result.then === "function") result.then(done, done);
    return result;
  }
  return original.call(this, config, ...rest);
};

const name = `apflow_bench_${randomBytes(5).toString("hex")}`;
const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
const url = new URL(PG_ADMIN_URL);
url.pathname = `/${name}`;
try {
  await migrate({ url: url.toString() });
  const store = await createPrismaStore({ url: url.toString(), poolSize: 2 });
  const r = new Registry();
  r.registerExecutor({ id: "mark", execute: () => null });
  const engine = new Engine({ store, registry: r, claim: false });
  const inner = store.submitTrees.bind(store);
  let storeMs = 0;
  store.submitTrees = async (...args) => {
    const t = performance.now();
    try {
      return await inner(...args);
    } finally {
      storeMs = performance.now() - t;
    }
  };
  await engine.start();
  const total = [];
  const inStore = [];
  let x = 12;
  const random = () => (x = (x * 1103515245 + 12345) % 2147483648) / 2147483648;
  for (let i = -5; i < SAMPLES; i++) {
    await new Promise((res) => setTimeout(res, 20 + random() * 80));
    counting = i >= 0;
    const t0 = performance.now();
    await engine.submit([{ name: "pickup", params: { executorId: "mark" } }]);
    const t1 = performance.now();
    counting = false;
    if (i < 0) continue;
    total.push(t1 - t0);
    inStore.push(storeMs);
  }
  await engine.stop();
  await store.close();
  const q = (list, p) => [...list].sort((a, b) => a - b)[Math.min(list.length - 1, Math.floor(p * list.length))];
  console.log(`one-task submit on PostgreSQL, ${SAMPLES} samples, idle 20–100 ms between`);
  console.log(`| | p50 ms | p99 ms |\n|---|---|---|`);
  console.log(`| engine.submit | ${q(total, 0.5).toFixed(2)} | ${q(total, 0.99).toFixed(2)} |`);
  console.log(`| of which store.submitTrees | ${q(inStore, 0.5).toFixed(2)} | ${q(inStore, 0.99).toFixed(2)} |`);
  const outside = total.map((t, i) => t - inStore[i]);
  console.log(
    `| of which outside the store (validation, ids, events) | ${q(outside, 0.5).toFixed(2)} | ${q(outside, 0.99).toFixed(2)} |`,
  );
  console.log("\nstatements per submit (round trip p50 ms as the driver sees it):");
  for (const [k, e] of statements)
    console.log(`  ${(e.n / SAMPLES).toFixed(2)} × ${e.ms.length ? q(e.ms, 0.5).toFixed(2) : "—"} ms  ${k}`);
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
}
