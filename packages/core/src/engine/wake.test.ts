import { describe, expect, it } from "vitest";
import { Registry } from "../registry/registry.js";
import { MemoryStore } from "../store/memory-store.js";
import { Engine } from "./engine.js";

describe("engine.wake()", () => {
  it("claims now what another engine on the store queued (no wait for the poll)", async () => {
    const store = new MemoryStore();
    const registry = new Registry();
    registry.registerExecutor({ id: "noop", execute: async () => ({ ok: true }) });
    const worker = new Engine({ store, registry, pollIntervalMs: 60_000 });
    const producer = new Engine({ store, registry, claim: false });
    await worker.start();
    await producer.start();
    try {
      const [tree] = await producer.submit([{ name: "n", params: { executorId: "noop" } }]);
      const id = tree?.execution.id as string;
      // Nothing claims it: the worker polls once a minute and the producer does not claim.
      await new Promise((r) => setTimeout(r, 50));
      expect((await store.getExecution(id))?.status).toBe("running");
      producer.wake();
      worker.wake();
      worker.wake();
      expect((await worker.wait(id)).status).toBe("completed");
    } finally {
      await worker.stop();
      await producer.stop();
    }
  });

  it("is a no-op on an engine that is not running", () => {
    const engine = new Engine({ store: new MemoryStore() });
    expect(() => engine.wake()).not.toThrow();
  });
});
