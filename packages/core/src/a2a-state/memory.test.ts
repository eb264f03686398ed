import { describe, expect, it } from "vitest";
import { MemoryStore } from "../store/memory-store.js";
import { describeA2aStateContract } from "../testing.js";
import { MemoryA2aStateStore } from "./memory.js";

describeA2aStateContract("MemoryStore", () => new MemoryStore());

describe("MemoryA2aStateStore maxRoots", () => {
  const T = new Date("2030-01-01T00:00:00.000Z");
  const state = (rootId: string) => ({
    rootId,
    owner: null,
    contextId: "c",
    history: [],
    statusMessage: null,
    state: null,
  });
  const push = (rootId: string) => ({ rootId, owner: null, configId: "x", config: {}, wireVersion: "1.0" });

  it("forgets the least recently written roots beyond the bound", async () => {
    const store = new MemoryA2aStateStore({ maxRoots: 2 });
    await store.putConversation(state("a"), T);
    await store.putPushConfig(push("a"), T);
    await store.putConversation(state("b"), T);
    await store.putConversation(state("a"), T); // a is now the most recent
    await store.putConversation(state("c"), T);
    expect(await store.getConversation("b")).toBeNull();
    expect(await store.getConversation("a")).not.toBeNull();
    expect(await store.listPushConfigs("a")).toHaveLength(1);
    await store.putPushConfig(push("d"), T);
    await store.putPushConfig(push("e"), T);
    expect(await store.listPushConfigs("a")).toEqual([]);
    expect((await store.listConversations({ contextId: "c", limit: 10, offset: 0 })).total).toBeLessThanOrEqual(2);
  });

  it("refuses a bound below 1", () => {
    expect(() => new MemoryA2aStateStore({ maxRoots: 0 })).toThrow(/maxRoots must be at least 1/);
    expect(() => new MemoryA2aStateStore({ maxRoots: Number.NaN })).toThrow(/maxRoots/);
  });
});
