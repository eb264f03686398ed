import { expect } from "vitest";
import type { StoreClient } from "../prisma/clients.js";
import { describeFacetMigration } from "../test-support/facet-migration.js";

/** Migration 0005 and the Prisma models of its two tables agree: every field written and read back. */
async function writeAndReadIdempotencyModels(prisma: StoreClient): Promise<void> {
  const at = new Date("2030-01-02T03:04:05.678Z");
  const key = await prisma.idempotencyKey.create({
    data: {
      userId: "u1",
      key: "k1",
      fingerprint: "fp",
      token: "t",
      response: { rootIds: ["r1"] },
      createdAt: at,
      expiresAt: at,
      leaseUntil: at,
    },
  });
  expect(await prisma.idempotencyKey.findUniqueOrThrow({ where: { userId_key: { userId: "u1", key: "k1" } } })).toEqual(
    key,
  );
  const unique = await prisma.uniqueTree.create({
    data: { owner: "u1", uniqueKey: "nightly", rootId: "r1", scope: "period", createdAt: at, until: at },
  });
  expect(
    await prisma.uniqueTree.findUniqueOrThrow({ where: { owner_uniqueKey: { owner: "u1", uniqueKey: "nightly" } } }),
  ).toEqual(unique);
}

await describeFacetMigration({
  id: "0005",
  what: "idempotency",
  writeAndRead: writeAndReadIdempotencyModels,
  async useUpgraded(store) {
    const now = new Date("2030-01-01T00:00:00.000Z");
    const reservation = await store.idempotency.reserveKey({
      userId: null,
      key: "k",
      fingerprint: "f",
      token: "t",
      now,
      leaseMs: 1000,
      retentionMs: 60_000,
    });
    expect(reservation).toEqual({ outcome: "reserved" });
  },
});
