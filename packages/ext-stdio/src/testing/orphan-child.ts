// A process that runs command tasks and is then killed with SIGKILL by orphans.test.ts.
// argv: <sqlite file> <sleep seconds (a marker value the test finds in /proc)> <tasks>
import { Engine, Registry } from "@aipartnerupflow/core";
import { createPrismaStore } from "@aipartnerupflow/storage-prisma";
import { stdioPlugin } from "../index.js";

const [path, seconds, count] = process.argv.slice(2) as [string, string, string];
const backing = await createPrismaStore({ url: `file:${path}` });
// Tell the test each time a run's process group is durably recorded.
const store = new Proxy(backing, {
  get(target, key, receiver) {
    if (key === "saveCheckpoint")
      return async (...args: Parameters<typeof backing.saveCheckpoint>) => {
        await target.saveCheckpoint(...args);
        process.stdout.write("checkpoint\n");
      };
    const value = Reflect.get(target, key, receiver);
    return typeof value === "function" ? value.bind(target) : value;
  },
});
const registry = new Registry();
await registry.use(stdioPlugin, { command: { enabled: true, allow: ["sleep"] } });
const engine = new Engine({ store, registry, concurrency: 16, leaseMs: 1000, pollIntervalMs: 100 });
const tasks = [
  { id: "orphan-root", name: "root" },
  ...Array.from({ length: Number(count) }, (_, i) => ({
    name: `sleep-${i}`,
    parentId: "orphan-root",
    params: { executorId: "command" },
    inputs: { command: ["sleep", seconds] },
  })),
];
await engine.createTree(tasks);
await engine.execute("orphan-root");
process.stdout.write("running\n");
setInterval(() => {}, 1000);
