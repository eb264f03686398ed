import { describe, expect, it } from "vitest";
import { defineExecutor } from "../registry/define.js";
import { Registry } from "../registry/registry.js";
import { MemoryStore } from "../store/memory-store.js";
import type { ClaimOptions } from "../store/types.js";
import { Engine } from "./engine.js";

/** Two engines (nodes) on one store: placement's required tags decide which one runs a task. */
function node(store: MemoryStore, owner: string, ran: string[], claimTags?: string[]) {
  const registry = new Registry();
  registry.registerExecutor(
    defineExecutor({
      id: "work",
      execute: (_inputs, ctx) => {
        ran.push(`${owner}:${ctx.task.name}`);
        return { by: owner };
      },
    }),
  );
  return new Engine({ store, registry, owner, pollIntervalMs: 10, ...(claimTags ? { claimTags } : {}) });
}

describe("EngineOptions.claimTags", () => {
  it("a node without the required tag never claims the task; the node with it runs it", async () => {
    const store = new MemoryStore();
    const claims: ClaimOptions[] = [];
    const claimReady = store.claimReady.bind(store);
    store.claimReady = (o) => {
      claims.push(o);
      return claimReady(o);
    };
    const ran: string[] = [];
    const plain = node(store, "plain", ran);
    const gpu = node(store, "gpu", ran, ["gpu", "eu"]);
    expect(gpu.claimTags).toEqual(["gpu", "eu"]);
    expect(plain.claimTags).toEqual([]);
    await plain.start();
    const [tree] = await plain.submit([
      { name: "root", dependencies: ["needs-gpu", "any"] },
      { name: "needs-gpu", parentId: "root", schemas: { method: "work" }, placement: { requires: ["gpu"] } },
      { name: "any", parentId: "root", schemas: { method: "work" } },
    ]);
    const execution = tree?.execution.id as string;
    // The plain node runs what it can; the gpu task waits for a node with the tag.
    const anyId = tree?.tasks.find((t) => t.name === "any")?.id as string;
    while ((await store.getTask(anyId))?.status !== "completed") await new Promise((r) => setTimeout(r, 5));
    const before = claims.length;
    while (claims.length < before + 3) await new Promise((r) => setTimeout(r, 5));
    expect(ran).toEqual(["plain:any"]);
    expect((await store.getTask(tree?.tasks.find((t) => t.name === "needs-gpu")?.id as string))?.status).toBe(
      "pending",
    );
    await gpu.start();
    expect((await plain.wait(execution)).status).toBe("completed");
    expect(ran).toEqual(["plain:any", "gpu:needs-gpu"]);
    expect(claims.some((c) => c.owner === "gpu" && c.tags?.join() === "gpu,eu")).toBe(true);
    expect(claims.filter((c) => c.owner === "plain").every((c) => c.tags === undefined)).toBe(true);
    await plain.stop();
    await gpu.stop();
  });

  it("setClaimTags changes the tags of later claims (what a distributed Node does with its tags)", async () => {
    const store = new MemoryStore();
    const ran: string[] = [];
    const engine = node(store, "late", ran);
    engine.setClaimTags(["edge"]);
    expect(engine.claimTags).toEqual(["edge"]);
    const outcome = await engine.runTree([
      { name: "edge-task", schemas: { method: "work" }, placement: { requires: ["edge"] } },
    ]);
    expect(outcome.status).toBe("completed");
    expect(ran).toEqual(["late:edge-task"]);
    await engine.stop();
  });
});
