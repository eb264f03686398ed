/**
 * Child process of the crash test: runs a tree on a SQLite file until the parent kills it with
 * SIGKILL. argv: <sqlite path> <tree size>. Prints "running" once the execution started.
 */
import { Engine, Registry, type TaskInput } from "@aipartnerupflow/core";
import { createPrismaStore } from "../store/create.js";

export function crashTree(size: number): TaskInput[] {
  const rootDependencies: string[] = [];
  const tasks: TaskInput[] = [
    { id: "crash-root", name: "root", params: { executorId: "slow" }, dependencies: rootDependencies },
  ];
  for (let i = 0; i < size - 1; i++) {
    const id = `crash-${i}`;
    // Chains of 4 so that dependents wait for work that was in flight when the process died.
    const dependencies = i % 4 === 0 ? [] : [`crash-${i - 1}`];
    tasks.push({ id, name: id, parentId: "crash-root", params: { executorId: "slow" }, dependencies });
    rootDependencies.push(id);
  }
  return tasks;
}

export function slowRegistry(): Registry {
  const registry = new Registry();
  registry.registerExecutor({
    id: "slow",
    execute: async (_inputs, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      return { id: ctx.task.id };
    },
  });
  return registry;
}

async function main(): Promise<void> {
  const [path, size] = process.argv.slice(2);
  const store = await createPrismaStore({ url: `file:${path}` });
  const engine = new Engine({ store, registry: slowRegistry(), concurrency: 8, leaseMs: 1500, pollIntervalMs: 100 });
  await engine.start();
  const [root] = await engine.createTree(crashTree(Number(size)));
  await engine.execute((root as { id: string }).id);
  process.stdout.write("running\n");
}

if (process.argv[1] && import.meta.url.endsWith(process.argv[1].split("/").pop() as string)) await main();
