import { expect } from "vitest";
import type { StoreClient } from "../prisma/clients.js";
import { describeFacetMigration } from "../test-support/facet-migration.js";

/** Migration 0007 and the Prisma models of its two tables agree: every field written and read back. */
async function writeAndReadA2aModels(prisma: StoreClient): Promise<void> {
  const at = new Date("2030-01-02T03:04:05.678Z");
  const conversation = await prisma.a2aConversation.create({
    data: {
      rootId: "r1",
      owner: "u1",
      contextId: "ctx",
      history: JSON.stringify([{ messageId: "m1", parts: [{ text: "hi" }] }]),
      statusMessage: JSON.stringify({ messageId: "s1" }),
      state: 3,
      createdAt: at,
      updatedAt: at,
    },
  });
  expect(await prisma.a2aConversation.findUniqueOrThrow({ where: { rootId: "r1" } })).toEqual(conversation);
  const push = await prisma.a2aPushConfig.create({
    data: {
      rootId: "r1",
      configId: "c1",
      owner: "u1",
      config: JSON.stringify({ url: "http://127.0.0.1:9/hook" }),
      wireVersion: "1.0",
      createdAt: at,
    },
  });
  expect(
    await prisma.a2aPushConfig.findUniqueOrThrow({ where: { rootId_configId: { rootId: "r1", configId: "c1" } } }),
  ).toEqual(push);
}

await describeFacetMigration({
  id: "0007",
  what: "A2A state",
  writeAndRead: writeAndReadA2aModels,
  async useUpgraded(store) {
    const now = new Date("2030-01-01T00:00:01.000Z");
    const rootId = "r-upgraded";
    await store.a2a.putConversation(
      { rootId, owner: null, contextId: "ctx", history: [], statusMessage: null, state: null },
      now,
    );
    expect((await store.a2a.listConversations({ contextId: "ctx", limit: 5, offset: 0 })).rootIds).toEqual([rootId]);
  },
});
