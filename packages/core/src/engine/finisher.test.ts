import { describe, expect, it } from "vitest";
import { Registry } from "../registry/registry.js";
import { MemoryStore } from "../store/memory-store.js";
import type { ClaimOptions, FinishItem } from "../store/types.js";
import { Engine } from "./engine.js";

/**
 * The finished-but-unrecorded window (docs/architecture.md#takeover): a finished task's outcome
 * is written before the claim for the slot it freed, so a kill between the two cannot catch it
 * unrecorded while that claim runs.
 */
describe("outcome writes and the claim for freed slots", () => {
  /** A MemoryStore whose outcome writes are slow (20 ms), logging writes and claims. */
  function slowStore(inProcess: boolean): { store: MemoryStore; log: string[] } {
    const store = new MemoryStore();
    // `inProcess: false` makes it stand for a shared store (another process could find a task unrecorded).
    (store as { inProcess: boolean }).inProcess = inProcess;
    const log: string[] = [];
    const finishTasks = store.finishTasks.bind(store);
    store.finishTasks = async (items: FinishItem[], now: Date) => {
      log.push(`write ${items.map((i) => i.taskId).join(",")}`);
      // The write is slow: a claim issued meanwhile would overtake it.
      await new Promise((r) => setTimeout(r, 20));
      const result = await finishTasks(items, now);
      log.push(`written ${items.map((i) => i.taskId).join(",")}`);
      return result;
    };
    const claimReady = store.claimReady.bind(store);
    store.claimReady = async (options: ClaimOptions) => {
      const result = await claimReady(options);
      if (result.claimed.length > 0) log.push(`claimed ${result.claimed.map((c) => c.task.id).join(",")}`);
      return result;
    };
    return { store, log };
  }

  async function runThree(store: MemoryStore): Promise<void> {
    const registry = new Registry();
    registry.registerExecutor({ id: "noop", execute: async () => ({ ok: true }) });
    const engine = new Engine({ store, registry, concurrency: 1, pollIntervalMs: 60_000 });
    const trees = await engine.submit([
      { id: "a", name: "a", params: { executorId: "noop" } },
      { id: "b", name: "b", params: { executorId: "noop" } },
      { id: "c", name: "c", params: { executorId: "noop" } },
    ]);
    await engine.start();
    try {
      for (const t of trees) expect((await engine.wait(t.execution.id)).status).toBe("completed");
    } finally {
      await engine.stop();
    }
  }

  it("claims for a freed slot only once the outcome that freed it is written (a shared store)", async () => {
    const { store, log } = slowStore(false);
    await runThree(store);
    expect(log).toEqual([
      "claimed a",
      "write a",
      "written a",
      "claimed b",
      "write b",
      "written b",
      "claimed c",
      "write c",
      "written c",
    ]);
  });

  it("a store in this process only claims for a freed slot while the outcome is still being written", async () => {
    const { store, log } = slowStore(true);
    await runThree(store);
    // b is claimed before a's outcome is written: nothing outlives the process, so no order is needed.
    expect(log.indexOf("claimed b")).toBeGreaterThan(log.indexOf("write a"));
    expect(log.indexOf("claimed b")).toBeLessThan(log.indexOf("written a"));
  });

  it("a failing outcome write does not stop the claim loop", async () => {
    const store = new MemoryStore();
    const finishTasks = store.finishTasks.bind(store);
    let failures = 1;
    store.finishTasks = async (items: FinishItem[], now: Date) => {
      if (failures-- > 0) throw new Error("store unavailable");
      return finishTasks(items, now);
    };
    const registry = new Registry();
    registry.registerExecutor({ id: "noop", execute: async () => ({ ok: true }) });
    const engine = new Engine({ store, registry, concurrency: 1, pollIntervalMs: 60_000, leaseMs: 60_000 });
    const trees = await engine.submit([
      { id: "x", name: "x", params: { executorId: "noop" } },
      { id: "y", name: "y", params: { executorId: "noop" } },
    ]);
    await engine.start();
    try {
      // x's write failed (its lease stays until it expires); y is still claimed and written.
      expect((await engine.wait(trees[1]?.execution.id as string)).status).toBe("completed");
    } finally {
      await engine.stop({ graceMs: 0 });
    }
  });
});
