/**
 * A worker node in its own process, for the wake-up tests and benchmark: an engine on the
 * PostgreSQL store that claims, with its own poll set long (argv[2] `ChildConfig` as JSON), and a
 * wake-up transport. Prints `ready`, then `started <taskId> <epoch ms, fractional>` as each task's
 * executor begins (`wake` tasks: no-op). Stops on `stop` or the end of stdin.
 */
import { createInterface } from "node:readline";
import { performance } from "node:perf_hooks";
import { Engine, Registry } from "@aipartnerupflow/core";
import { createPrismaStore } from "@aipartnerupflow/storage-prisma";
import { NodeEventBus } from "./bus.js";
import { type ChildConfig, transportFor } from "./test-support.js";
import { Wakeups } from "./wakeups.js";

async function main(): Promise<void> {
  const config = JSON.parse(process.argv[2] as string) as ChildConfig;
  const store = await createPrismaStore({ url: config.url, poolSize: 4 });
  const registry = new Registry();
  registry.registerExecutor({
    id: "wake",
    execute: async (_inputs, ctx) => {
      process.stdout.write(`started ${ctx.task.id} ${performance.timeOrigin + performance.now()}\n`);
      return { node: "child" };
    },
  });
  const engine = new Engine({
    store,
    registry,
    bus: new NodeEventBus(),
    pollIntervalMs: config.pollIntervalMs,
    concurrency: config.concurrency ?? 10,
  });
  const wakeups = new Wakeups(engine, transportFor(config.transport, config.url, config.channel));
  await engine.start();
  await wakeups.start();
  process.stdout.write(`ready ${wakeups.status}\n`);
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) if (line.trim() === "stop") break;
  lines.close();
  await wakeups.stop();
  await engine.stop({ graceMs: 2000 });
  await store.close();
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`worker-child failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
