// BullMQ 6.x on the local Redis, under its own key prefix. Lock (visibility) 5 s, stalled jobs
// looked for every second. W2 uses its native dependencies (a flow: a parent over 1,000 children).
import { FlowProducer, Queue, Worker } from "bullmq";
import { Redis } from "ioredis";
import { CHECK_MS, CONCURRENCY, LEASE_MS, redisConnection } from "../lib/env.mjs";

const QUEUE = "bench";

function worker(spec, onJob, autorun) {
  const w = new Worker(QUEUE, (job) => onJob(job.data.key), {
    connection: redisConnection(),
    prefix: spec.prefix,
    concurrency: CONCURRENCY,
    autorun,
    lockDuration: LEASE_MS,
    stalledInterval: CHECK_MS,
  });
  w.on("error", (err) => process.stderr.write(`[bullmq] ${err.message}\n`));
  return w;
}

export async function prepare() {}

export async function openProducer(spec) {
  const queue = new Queue(QUEUE, { connection: redisConnection(), prefix: spec.prefix });
  return {
    async enqueueBulk(keys) {
      await queue.addBulk(keys.map((key) => ({ name: "job", data: { key } })));
    },
    countDone: () => queue.getCompletedCount(),
    /** CPU used by the Redis server so far (it is this machine's, shared with other users). */
    async serverCpuMs() {
      const redis = new Redis(redisConnection());
      const info = await redis.info("cpu").finally(() => redis.quit());
      const read = (name) => Number(new RegExp(`${name}:([0-9.]+)`).exec(info)?.[1] ?? 0);
      return (read("used_cpu_user") + read("used_cpu_sys")) * 1000;
    },
    async close() {
      await queue.close();
    },
  };
}

export async function openWorker(spec, onJob) {
  const w = worker(spec, onJob, false);
  await w.waitUntilReady();
  return {
    async start() {
      w.run().catch((err) => process.stderr.write(`[bullmq] ${err.message}\n`));
    },
    async close() {
      await w.close(true);
    },
  };
}

export async function openLocal(spec, onJob) {
  const queue = new Queue(QUEUE, { connection: redisConnection(), prefix: spec.prefix });
  const flows = new FlowProducer({ connection: redisConnection(), prefix: spec.prefix });
  const w = worker(spec, onJob, true);
  await w.waitUntilReady();
  let root = null;
  return {
    async enqueueOne(key) {
      await queue.add("job", { key });
    },
    async fanIn(n) {
      const children = Array.from({ length: n }, (_, i) => ({ name: "job", queueName: QUEUE, data: { key: `c${i}` } }));
      const tree = await flows.add({ name: "job", queueName: QUEUE, data: { key: "root" }, children });
      root = tree.job;
    },
    async rootDone() {
      return root ? root.isCompleted() : false;
    },
    async close() {
      await w.close(true);
      await flows.close();
      await queue.close();
    },
  };
}

/** Remove every key of the measurement. */
export async function cleanup(spec) {
  const queue = new Queue(QUEUE, { connection: redisConnection(), prefix: spec.prefix });
  await queue.obliterate({ force: true }).catch(() => undefined);
  await queue.close();
}
