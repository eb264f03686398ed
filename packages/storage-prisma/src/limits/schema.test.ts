import { expect } from "vitest";
import type { StoreClient } from "../prisma/clients.js";
import { describeFacetMigration } from "../test-support/facet-migration.js";

/** Migration 0008 and the Prisma models agree: the tasks' executor column and the three limit tables. */
async function writeAndReadLimitModels(prisma: StoreClient): Promise<void> {
  const at = new Date("2030-01-02T03:04:05.678Z");
  const task = await prisma.task.create({
    data: { id: "t1", rootId: "t1", name: "n", createdAt: at, updatedAt: at, executor: "llm" },
  });
  expect(task.executor).toBe("llm");
  const rule = await prisma.limitRule.create({
    data: { scope: "user", key: "u1", maxRunning: 2, maxRunningRoots: 1, rateStarts: 5, ratePerMs: 60_000n },
  });
  expect(await prisma.limitRule.findUniqueOrThrow({ where: { scope_key: { scope: "user", key: "u1" } } })).toEqual(
    rule,
  );
  const bucket = await prisma.limitBucket.create({
    data: { scope: "user", key: "u1", tokens: 1.5, refilledMs: 1_900_000_000_000n },
  });
  expect(await prisma.limitBucket.findUniqueOrThrow({ where: { scope_key: { scope: "user", key: "u1" } } })).toEqual(
    bucket,
  );
  const claims = await prisma.limitClaims.create({ data: { id: 1, n: 3n } });
  expect(await prisma.limitClaims.findUniqueOrThrow({ where: { id: 1 } })).toEqual(claims);
}

await describeFacetMigration({
  id: "0008",
  what: "limits",
  writeAndRead: writeAndReadLimitModels,
  async useUpgraded(store) {
    await store.limits.set({ scope: "global", maxRunning: 3 });
    expect(await store.limits.list()).toEqual([{ scope: "global", maxRunning: 3 }]);
  },
});
