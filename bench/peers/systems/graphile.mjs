// graphile-worker 0.17.3: its own schema in the measurement's database. `batched` turns on its
// documented batching options (local queue, batched completion) as its performance page sets them.
import { Logger, makeWorkerUtils, run, runMigrations } from "graphile-worker";
import pg from "pg";
import { CHECK_MS, CONCURRENCY, dbUrl } from "../lib/env.mjs";

const SCHEMA = "graphile_worker";

function preset(spec) {
  const worker = { concurrentJobs: CONCURRENCY, maxPoolSize: CONCURRENCY + 2 };
  if (spec.batched)
    Object.assign(worker, { localQueue: { size: 500 }, completeJobBatchDelay: 0, failJobBatchDelay: 0 });
  return { worker };
}

function options(spec, taskList, application) {
  return {
    connectionString: dbUrl(spec.db, application),
    schema: SCHEMA,
    concurrency: CONCURRENCY,
    noHandleSignals: true,
    pollInterval: CHECK_MS,
    taskList,
    preset: preset(spec),
    logger: quietLogger(),
  };
}

export async function prepare(spec) {
  await runMigrations({ connectionString: dbUrl(spec.db), schema: SCHEMA, logger: quietLogger() });
}

export async function openProducer(spec) {
  const utils = await makeWorkerUtils({ connectionString: dbUrl(spec.db), schema: SCHEMA, logger: quietLogger() });
  const pool = new pg.Pool({ connectionString: dbUrl(spec.db), max: 2 });
  let enqueued = 0;
  return {
    async enqueueBulk(keys) {
      await utils.addJobs(keys.map((key) => ({ identifier: "job", payload: { key }, maxAttempts: 5 })));
      enqueued += keys.length;
    },
    // Completed jobs are deleted: done = enqueued − rows left.
    async countDone() {
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${SCHEMA}._private_jobs`);
      return enqueued - rows[0].n;
    },
    async close() {
      await utils.release();
      await pool.end();
    },
  };
}

export async function openWorker(spec, onJob) {
  let runner;
  return {
    async start() {
      runner = await run(options(spec, { job: (payload) => onJob(payload.key) }, "bench-worker"));
    },
    async close() {
      await runner?.stop();
    },
  };
}

export async function openLocal(spec, onJob) {
  const pool = new pg.Pool({ connectionString: dbUrl(spec.db), max: 2 });
  pool.on("error", () => undefined);
  let rootId = null;
  let rootEnqueued = false;
  const runner = await run(
    options(spec, {
      job: (payload) => onJob(payload.key),
      // W2: no dependencies in graphile-worker: a counter row, the child reading 0 enqueues the root.
      child: async (payload, helpers) => {
        await onJob(payload.key);
        const { rows } = await helpers.query("UPDATE bench_counter SET remaining = remaining - 1 RETURNING remaining");
        if (rows[0].remaining === 0) {
          const job = await helpers.addJob("job", { key: "root" });
          rootId = job.id;
          rootEnqueued = true;
        }
      },
    }),
  );
  return {
    async enqueueOne(key) {
      await runner.addJob("job", { key });
    },
    async fanIn(n) {
      await pool.query("CREATE TABLE IF NOT EXISTS bench_counter (remaining int NOT NULL)");
      await pool.query("DELETE FROM bench_counter");
      await pool.query("INSERT INTO bench_counter VALUES ($1)", [n]);
      const utils = await makeWorkerUtils({ pgPool: pool, schema: SCHEMA, logger: quietLogger() });
      await utils.addJobs(Array.from({ length: n }, (_, i) => ({ identifier: "child", payload: { key: `c${i}` } })));
      await utils.release();
    },
    async rootDone() {
      if (!rootEnqueued) return false;
      const { rows } = await pool.query(`SELECT count(*)::int AS n FROM ${SCHEMA}._private_jobs WHERE id = $1`, [
        rootId,
      ]);
      return rows[0].n === 0;
    },
    async close() {
      await runner.stop();
      await pool.end();
    },
  };
}

function quietLogger() {
  // Errors still print; graphile's info lines (one per job) would swamp the output.
  return new Logger(() => (level, message) => {
    if (level === "error") process.stderr.write(`[graphile] ${message}\n`);
  });
}
