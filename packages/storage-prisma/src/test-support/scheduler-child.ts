/**
 * Child process of the two-schedulers test: an engine and a scheduler on a PostgreSQL database,
 * printing one JSON line per tree it fired, until SIGTERM. argv: <database url> <name>.
 */
import { Engine, Registry, Scheduler } from "@aipartnerupflow/core";
import { createPrismaStore } from "../store/create.js";

const [url, name] = process.argv.slice(2) as [string, string];
const store = await createPrismaStore({ url, poolSize: 3 });
const registry = new Registry();
registry.registerExecutor({ id: "echo", execute: (inputs) => inputs });
const engine = new Engine({ store, registry, pollIntervalMs: 50, owner: name });
const scheduler = new Scheduler({
  engine,
  refreshMs: 100,
  onFire: (fired) => process.stdout.write(`${JSON.stringify({ by: name, ...fired })}\n`),
});
await engine.start();
await scheduler.start();
process.stdout.write(`${JSON.stringify({ ready: name })}\n`);
const keepAlive = setInterval(() => {}, 60_000);
process.once("SIGTERM", () => {
  void (async () => {
    clearInterval(keepAlive);
    await scheduler.stop();
    await engine.stop({ graceMs: 2000 });
    await store.close();
    process.exit(0);
  })();
});
