import { describe, expect, it } from "vitest";
import { MemoryStore } from "../store/memory-store.js";
import { describeQueueStatsContract } from "../testing.js";
import { queueStatsOf } from "./types.js";

describeQueueStatsContract("MemoryStore", () => new MemoryStore());

describe("queueStatsOf", () => {
  it("finds the facet on a store that has it, and answers null for one that has not", async () => {
    const store = new MemoryStore();
    expect(queueStatsOf(store)).not.toBeNull();
    const bare = { ...store } as unknown as MemoryStore;
    expect(queueStatsOf(bare)).toBeNull();
  });
});
