// pg-boss 10.4.2 in its own schema. pg-boss 10 has no per-worker concurrency setting: concurrency
// 10 is ten `work()` loops, each fetching a batch (`batchSize`) and running its jobs one after
// another, then completing the batch in one statement (its batch mode). Visibility is the job's
// `expireInSeconds` (5); expired jobs are failed by its maintenance (every second here) and retried.
import PgBoss from "pg-boss";
import pg from "pg";
import { CONCURRENCY, LEASE_MS, dbUrl } from "../lib/env.mjs";

const SCHEMA = "pgboss";
const QUEUE = "bench";
const QUEUE_OPTIONS = { expireInSeconds: LEASE_MS / 1000, retryLimit: 2, retryDelay: 0 };

function boss(spec, { supervise, application }) {
  const b = new PgBoss({
    connectionString: dbUrl(spec.db, application),
    schema: SCHEMA,
    supervise,
    schedule: false,
    maintenanceIntervalSeconds: 1,
    max: CONCURRENCY + 2,
  });
  b.on("error", (err) => process.stderr.write(`[pg-boss] ${err.message}\n`));
  return b;
}

/** Batch size: 100 jobs per fetch; a batch of 50 ms jobs must fit in the 5 s expiry, so 10 there. */
function batchSize(spec) {
  return spec.jobMs > 0 ? 10 : 100;
}

async function work(b, spec, onJob) {
  for (let i = 0; i < CONCURRENCY; i++) {
    await b.work(QUEUE, { batchSize: batchSize(spec), pollingIntervalSeconds: 0.5 }, async (jobs) => {
      for (const job of jobs) await onJob(job.data.key);
    });
  }
}

export async function prepare(spec) {
  const b = boss(spec, { supervise: false });
  await b.start();
  await b.createQueue(QUEUE, QUEUE_OPTIONS);
  await b.stop({ graceful: false, wait: true });
}

export async function openProducer(spec) {
  const b = boss(spec, { supervise: false });
  await b.start();
  const pool = new pg.Pool({ connectionString: dbUrl(spec.db), max: 2 });
  return {
    async enqueueBulk(keys) {
      await b.insert(keys.map((key) => ({ name: QUEUE, data: { key }, ...QUEUE_OPTIONS })));
    },
    async countDone() {
      const { rows } = await pool.query(
        `SELECT count(*)::int AS n FROM ${SCHEMA}.job WHERE name = $1 AND state = 'completed'`,
        [QUEUE],
      );
      return rows[0].n;
    },
    async close() {
      await b.stop({ graceful: false, wait: true });
      await pool.end();
    },
  };
}

export async function openWorker(spec, onJob) {
  const b = boss(spec, { supervise: true, application: "bench-worker" });
  return {
    async start() {
      await b.start();
      await work(b, spec, onJob);
    },
    async close() {
      await b.stop({ graceful: false, wait: true });
    },
  };
}

export async function openLocal(spec, onJob) {
  const b = boss(spec, { supervise: true });
  await b.start();
  const pool = new pg.Pool({ connectionString: dbUrl(spec.db), max: 2 });
  let rootId = null;
  // W2: pg-boss has no dependencies: a counter row; the child reading 0 enqueues the root.
  await work(b, spec, async (key) => {
    await onJob(key);
    if (!key.startsWith("c")) return;
    const { rows } = await pool.query("UPDATE bench_counter SET remaining = remaining - 1 RETURNING remaining");
    if (rows[0].remaining === 0) rootId = await b.send(QUEUE, { key: "root" }, QUEUE_OPTIONS);
  });
  return {
    async enqueueOne(key) {
      await b.send(QUEUE, { key }, QUEUE_OPTIONS);
    },
    async fanIn(n) {
      await pool.query("CREATE TABLE IF NOT EXISTS bench_counter (remaining int NOT NULL)");
      await pool.query("DELETE FROM bench_counter");
      await pool.query("INSERT INTO bench_counter VALUES ($1)", [n]);
      await b.insert(Array.from({ length: n }, (_, i) => ({ name: QUEUE, data: { key: `c${i}` }, ...QUEUE_OPTIONS })));
    },
    async rootDone() {
      if (!rootId) return false;
      const job = await b.getJobById(QUEUE, rootId);
      return job?.state === "completed";
    },
    async close() {
      await b.stop({ graceful: false, wait: true });
      await pool.end();
    },
  };
}
