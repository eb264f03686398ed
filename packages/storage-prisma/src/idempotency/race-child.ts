/**
 * Child process of the idempotency race test: opens the PostgreSQL store, prints "ready", waits
 * for "go" on stdin, then creates and executes one tree under idempotency keys (and one unique
 * tree), and prints what it got as one JSON line. argv: <database url>.
 */
import { createInterface } from "node:readline";
import { Engine, Registry } from "@aipartnerupflow/core";
import { createPrismaStore } from "../store/create.js";

async function main(): Promise<void> {
  const [url] = process.argv.slice(2);
  const store = await createPrismaStore({ url: url as string, poolSize: 4 });
  const registry = new Registry();
  registry.registerExecutor({
    id: "charge",
    execute: async (inputs) => ({ charged: (inputs as { amount?: number }).amount ?? null }),
  });
  const engine = new Engine({ store, registry, pollIntervalMs: 50, idempotency: { pollMs: 10 } });
  process.stdout.write("ready\n");
  const lines = createInterface({ input: process.stdin });
  for await (const line of lines) if (line.trim() === "go") break;
  lines.close();
  const tree = [{ name: "charge card", params: { executorId: "charge" }, inputs: { amount: 42 } }];
  const created = await engine.create(tree, { userId: "alice", idempotencyKey: "order-42" }, "single");
  const rootId = created.rootIds[0] as string;
  const handle = await engine.execute(rootId, { userId: "alice", idempotencyKey: "order-42-run" });
  const outcome = await handle.done;
  const unique = await engine.create(
    [{ name: "nightly", uniqueKey: "nightly-report", unique: { scope: "active" } }],
    { userId: "alice" },
    "single",
  );
  process.stdout.write(
    `${JSON.stringify({
      rootId,
      createReplayed: created.replayed,
      executionId: handle.execution.id,
      executeReplayed: handle.replayed ?? false,
      status: outcome.status,
      uniqueRootId: unique.rootIds[0],
      uniqueExisting: unique.existing.length > 0,
    })}\n`,
  );
  await engine.stop();
  await store.close();
}

await main();
