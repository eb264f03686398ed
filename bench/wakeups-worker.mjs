// Worker node of the wake-up benchmark (bench/wakeups.mjs), in its own process: an engine on the
// PostgreSQL store with the named wake-up transport. argv[2]: JSON { url, transport, channel }.
// Prints `ready`, then `started <rootId> <epoch ms, fractional>` as each task's executor begins.
import { createInterface } from "node:readline";
import { Engine, Registry } from "../packages/core/dist/index.js";
import { NodeEventBus, Wakeups } from "../packages/distributed/dist/index.js";
import { createPrismaStore } from "../packages/storage-prisma/dist/index.js";
import { makeTransport } from "./wakeups-transports.mjs";

const config = JSON.parse(process.argv[2]);
if (config.floor) {
  // The transport alone (no store, no engine): print when each message arrives.
  const transport = makeTransport(
    config.transport === "postgres" ? "postgres-app" : config.transport,
    config.url,
    config.channel,
  );
  await transport.start({
    message: (m) => process.stdout.write(`started ${m.origin} ${performance.timeOrigin + performance.now()}\n`),
    state: () => undefined,
  });
  process.stdout.write("ready up\n");
  for await (const line of createInterface({ input: process.stdin })) if (line.trim() === "stop") break;
  await transport.close();
  process.exit(0);
}
const store = await createPrismaStore({ url: config.url, poolSize: 4 });
const registry = new Registry();
registry.registerExecutor({
  id: "mark",
  execute: (_inputs, ctx) => {
    process.stdout.write(`started ${ctx.task.rootId} ${performance.timeOrigin + performance.now()}\n`);
    return null;
  },
});
const engine = new Engine({ store, registry, bus: new NodeEventBus(), concurrency: 10 });
if (process.env.APFLOW_BENCH_TRACE) {
  const claim = store.claimReady.bind(store);
  store.claimReady = async (req) => {
    const t = performance.timeOrigin + performance.now();
    const r = await claim(req);
    const u = performance.timeOrigin + performance.now();
    process.stdout.write(`claim ${t} ${u} ${r.claimed.length}\n`);
    return r;
  };
}
const transport = makeTransport(config.transport, config.url, config.channel);
// APFLOW_BENCH_TRACE=1: also print `wake <w|e> <epoch ms>` as each wake-up arrives.
if (transport && process.env.APFLOW_BENCH_TRACE) {
  const start = transport.start.bind(transport);
  transport.start = (h) =>
    start({
      ...h,
      message: (m) => {
        process.stdout.write(`wake ${m.work ? "w" : "e"} ${performance.timeOrigin + performance.now()}\n`);
        h.message(m);
      },
    });
}
const wakeups = transport ? new Wakeups(engine, transport, { fanout: false }) : null;
await engine.start();
await wakeups?.start();
process.stdout.write(`ready ${wakeups?.status ?? "polling"}\n`);
for await (const line of createInterface({ input: process.stdin })) if (line.trim() === "stop") break;
await wakeups?.stop();
await engine.stop({ graceMs: 1000 });
await store.close();
process.exit(0);
