/**
 * Child process of the cross-process limits test: an engine on a PostgreSQL database that claims
 * until the parent kills it. argv: <database url> <owner>. Prints "started" once it claims.
 */
import { Engine, Registry } from "@aipartnerupflow/core";
import { createPrismaStore } from "../store/create.js";

/** `sleepy` sleeps 150 ms; with `hangs`, a task with `inputs.hang` hangs (until the process is killed). */
export function sleepyRegistry(hangs = false): Registry {
  const registry = new Registry();
  registry.registerExecutor({
    id: "sleepy",
    execute: async (inputs) => {
      const hang = hangs && (inputs as { hang?: boolean }).hang === true;
      await new Promise((resolve) => setTimeout(resolve, hang ? 600_000 : 150));
      return null;
    },
  });
  return registry;
}

async function main(): Promise<void> {
  const [url, owner] = process.argv.slice(2);
  const store = await createPrismaStore({ url: url as string, poolSize: 4 });
  // Concurrency 4 in each process: only the store's global limit keeps the two at 2 together.
  const engine = new Engine({
    store,
    // The engine to be killed hangs on `hang` tasks, so it holds their slots when it dies.
    registry: sleepyRegistry(owner === "engine-a"),
    concurrency: 4,
    leaseMs: 1500,
    pollIntervalMs: 50,
    owner: owner as string,
  });
  await engine.start();
  process.stdout.write("started\n");
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() as string)) await main();
