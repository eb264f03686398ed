import { describe, expect, it } from "vitest";
import { defineExecutor } from "../registry/define.js";
import { Registry } from "../registry/registry.js";
import { MemoryStore } from "../store/memory-store.js";
import type { ClaimOptions } from "../store/types.js";
import { Engine } from "./engine.js";

function setup(options: { claimExecutors?: string[] } = {}) {
  const store = new MemoryStore();
  const claims: ClaimOptions[] = [];
  const claimReady = store.claimReady.bind(store);
  store.claimReady = (o) => {
    claims.push(o);
    return claimReady(o);
  };
  const registry = new Registry();
  registry.registerExecutor(defineExecutor({ id: "echo", execute: (inputs) => inputs }));
  const engine = new Engine({ store, registry, pollIntervalMs: 20, ...options });
  return { store, engine, claims };
}

describe("engine pause and claimExecutors", () => {
  it("a paused engine claims nothing until resumed", async () => {
    const { engine, store } = setup();
    await engine.start();
    engine.pause();
    expect(engine.paused).toBe(true);
    const [tree] = await engine.submit([{ name: "t", schemas: { method: "echo" }, inputs: { x: 1 } }]);
    await new Promise((r) => setTimeout(r, 100));
    expect((await store.getTask(tree?.execution.rootId as string))?.status).toBe("pending");
    engine.unpause();
    const outcome = await engine.wait(tree?.execution.id as string);
    expect(outcome.status).toBe("completed");
    await engine.stop();
  });

  it("passes claimExecutors to every claim as ClaimOptions.executors", async () => {
    const { engine, claims } = setup({ claimExecutors: ["echo"] });
    const outcome = await engine.runTree([{ name: "t", schemas: { method: "echo" } }]);
    expect(outcome.status).toBe("completed");
    expect(claims.length).toBeGreaterThan(0);
    for (const c of claims) expect(c.executors).toEqual(["echo"]);
    await engine.stop();
  });
});
