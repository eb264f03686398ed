import { describe, expect, it } from "vitest";
import { MemoryStore } from "../store/memory-store.js";
import { FaultInjectingStore, gate, ManualClock } from "./fault-store.js";

describe("FaultInjectingStore", () => {
  it("fails exactly the chosen calls of an operation and passes the others through", async () => {
    const store = new FaultInjectingStore(new MemoryStore(), [
      { operation: "getTask", call: 2, times: 2, fail: () => new Error("boom") },
    ]);
    await expect(store.getTask("x")).resolves.toBeNull();
    await expect(store.getTask("x")).rejects.toThrow("boom");
    await expect(store.getTask("x")).rejects.toThrow("boom");
    await expect(store.getTask("x")).resolves.toBeNull();
    expect(store.calls("getTask")).toBe(4);
    expect(store.calls("getTree")).toBe(0);
  });

  it("delays a call until a gate opens, and keeps optional operations optional", async () => {
    const held = gate();
    const store = new FaultInjectingStore(new MemoryStore());
    store.inject({ operation: "listTasks", delay: () => held.promise });
    let done = false;
    const pending = store.listTasks().then((page) => {
      done = true;
      return page;
    });
    await new Promise((r) => setImmediate(r));
    expect(done).toBe(false);
    held.open();
    expect((await pending).total).toBe(0);
    expect(typeof store.finishTasks).toBe("function");
    const bare = new MemoryStore() as MemoryStore & { finishTasks?: unknown };
    Object.defineProperty(bare, "finishTasks", { value: undefined });
    expect(new FaultInjectingStore(bare).finishTasks).toBeUndefined();
  });

  it("refuses a fault for something that is not an operation", () => {
    const store = new FaultInjectingStore(new MemoryStore());
    expect(() => store.inject({ operation: "nope" as never, fail: new Error("x") })).toThrow(/not a store operation/);
    expect(() => store.inject({ operation: "getTask", call: 0 })).toThrow(/positive integer/);
  });
});

describe("ManualClock", () => {
  it("moves only when told", () => {
    const clock = new ManualClock(new Date("2030-01-01T00:00:00.000Z"));
    expect(clock.now().toISOString()).toBe("2030-01-01T00:00:00.000Z");
    clock.advance(1500);
    expect(clock.now().toISOString()).toBe("2030-01-01T00:00:01.500Z");
  });
});
