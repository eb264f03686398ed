import { expect } from "vitest";
import { nodeRegistration } from "@aipartnerupflow/core/testing";
import type { StoreClient } from "../prisma/clients.js";
import { describeFacetMigration } from "../test-support/facet-migration.js";

/** Migration 0009 and the Prisma models of its two tables agree: every field written and read back. */
async function writeAndReadNodeModels(prisma: StoreClient): Promise<void> {
  const at = new Date("2030-01-02T03:04:05.678Z");
  const node = await prisma.node.create({
    data: {
      nodeId: "n1",
      host: "h",
      pid: 42,
      version: "1.0.0",
      executors: JSON.stringify(["a"]),
      tags: JSON.stringify(["t"]),
      cpu: 8,
      memory: 17_179_869_184n,
      concurrency: 10,
      running: 3,
      load: 0.75,
      heartbeatMs: 1000,
      deadAfterMs: 10_000,
      draining: true,
      startedAt: at,
      heartbeatAt: at,
      handedBackAt: at,
    },
  });
  expect(await prisma.node.findUniqueOrThrow({ where: { nodeId: "n1" } })).toEqual(node);
  const event = await prisma.nodeEvent.create({
    data: { type: "node.dead", nodeId: "n1", at, detail: JSON.stringify({ tasks: ["t1"] }) },
  });
  expect(await prisma.nodeEvent.findUniqueOrThrow({ where: { seq: event.seq } })).toEqual(event);
}

await describeFacetMigration({
  id: "0009",
  what: "node registry",
  writeAndRead: writeAndReadNodeModels,
  async useUpgraded(store) {
    const now = new Date("2030-01-01T00:00:01.000Z");
    await store.nodes.register(nodeRegistration("n-upgraded"), now);
    expect((await store.nodes.list()).map((n) => n.nodeId)).toEqual(["n-upgraded"]);
  },
});
