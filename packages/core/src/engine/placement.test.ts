import { describe, expect, it } from "vitest";
import { InvalidPlacementError } from "../errors.js";
import type { ExecutionPlacement, PlacementOptions } from "../placement/types.js";
import { record } from "../placement/test-fixtures.js";
import { defineExecutor } from "../registry/define.js";
import { Registry } from "../registry/registry.js";
import { MemoryStore } from "../store/memory-store.js";
import type { ClaimOptions, TaskStore } from "../store/types.js";
import type { Execution, TaskInput } from "../types.js";
import { Engine } from "./engine.js";

/** A producer engine on a store with nodes n1, n2 (executor `work`); records what each start asked for. */
async function setup(
  options: { placement?: PlacementOptions; claim?: boolean; claimTags?: string[]; submitTrees?: boolean } = {},
) {
  const store = new MemoryStore();
  const placements: Array<ExecutionPlacement | undefined> = [];
  const startExecution = store.startExecution.bind(store);
  store.startExecution = (request) => {
    placements.push(request.placement);
    return startExecution(request);
  };
  if (options.submitTrees) {
    // A store that submits in one write (as the SQL stores do): the placement travels on each start.
    (store as TaskStore).submitTrees = async (tasks, starts, now) => {
      const created = await store.createTasks(tasks, now);
      const events = [...created.events];
      const executions: Execution[] = [];
      for (const s of starts) {
        placements.push(s.placement);
        const started = await startExecution({ taskId: s.rootId, executionId: s.executionId, now });
        events.push(...started.events);
        executions.push(started.execution);
      }
      return { tasks: created.tasks, executions, events };
    };
  }
  const claims: ClaimOptions[] = [];
  const claimReady = store.claimReady.bind(store);
  store.claimReady = (o) => {
    claims.push(o);
    return claimReady(o);
  };
  const registry = new Registry();
  registry.registerExecutor(defineExecutor({ id: "work", execute: () => ({ ok: true }) }));
  const now = new Date();
  for (const id of ["n2", "n1"]) await store.nodes.register(record(id, { heartbeatAt: now }), now);
  const engine = new Engine({
    store,
    registry,
    pollIntervalMs: 20,
    claim: options.claim ?? false,
    ...(options.placement ? { placement: options.placement } : {}),
    ...(options.claimTags ? { claimTags: options.claimTags } : {}),
  });
  return { store, engine, placements, claims };
}

const tree = (prefix = ""): TaskInput[] => [
  { id: `${prefix}r`, name: "root" },
  { id: `${prefix}a`, name: "a", parentId: `${prefix}r` },
  { id: `${prefix}a1`, name: "a1", parentId: `${prefix}a`, schemas: { method: "work" } },
  { id: `${prefix}b`, name: "b", parentId: `${prefix}r` },
  { id: `${prefix}b1`, name: "b1", parentId: `${prefix}b`, schemas: { method: "work" } },
];

describe("engine placement", () => {
  it("by default (capability) starts executions without a placement and reads no node", async () => {
    const { store, engine, placements } = await setup();
    let lists = 0;
    const list = store.nodes.list.bind(store.nodes);
    store.nodes.list = () => {
      lists += 1;
      return list();
    };
    await engine.start();
    await engine.submit(tree("s"));
    const [root] = await engine.createTree(tree("e"));
    await engine.execute(root?.id as string);
    expect(placements).toEqual([undefined, undefined]);
    expect(lists).toBe(0);
    await engine.stop();
  });

  it("execute: EngineOptions.placement round-robin by sub-tree; the turn goes on across executions", async () => {
    const { engine, placements } = await setup({ placement: { strategy: "round-robin", granularity: "subtree" } });
    await engine.start();
    for (const prefix of ["x", "y"]) {
      const [root] = await engine.createTree(tree(prefix));
      await engine.execute(root?.id as string);
    }
    expect(placements).toEqual([
      { assign: { xr: "n1", xa: "n2", xa1: "n2", xb: "n1", xb1: "n1" } },
      { assign: { yr: "n2", ya: "n1", ya1: "n1", yb: "n2", yb1: "n2" } },
    ]);
    await engine.stop();
  });

  it("submit: each tree gets its placement; a call's options override the engine's", async () => {
    const { engine, placements } = await setup({ placement: { strategy: "round-robin", granularity: "root" } });
    await engine.start();
    await engine.submit([...tree("p"), ...tree("q")]);
    await engine.submit(tree("z"), { placement: { strategy: "affinity" } });
    await engine.submit(tree("c"), { placement: { strategy: "capability" } });
    expect(placements).toEqual([
      { assign: { pr: "n1", pa: "n1", pa1: "n1", pb: "n1", pb1: "n1" } },
      { assign: { qr: "n2", qa: "n2", qa1: "n2", qb: "n2", qb1: "n2" } },
      { followDependencies: true },
      undefined,
    ]);
    await engine.stop();
  });

  it("a store with submitTrees gets each tree's placement on its start", async () => {
    const { engine, placements } = await setup({
      placement: { strategy: "round-robin", granularity: "root" },
      submitTrees: true,
    });
    await engine.start();
    await engine.submit([...tree("w"), ...tree("k")]);
    expect(placements).toEqual([
      { assign: { wr: "n1", wa: "n1", wa1: "n1", wb: "n1", wb1: "n1" } },
      { assign: { kr: "n2", ka: "n2", ka1: "n2", kb: "n2", kb1: "n2" } },
    ]);
    await engine.stop();
  });

  it("task placement from the request counts: a required tag no node has leaves the task unplaced", async () => {
    const { engine, placements } = await setup({ placement: { strategy: "least-loaded" } });
    await engine.start();
    await engine.submit([
      { id: "g", name: "g", schemas: { method: "work" }, placement: { requires: ["gpu"] } },
      { id: "h", name: "h", parentId: "g", schemas: { method: "work" } },
    ]);
    expect(placements).toEqual([{ assign: { h: "n1" } }]);
    await engine.stop();
  });

  it("refuses bad placement options with a typed error: at construction, and per call before writing", async () => {
    const store = new MemoryStore();
    expect(() => new Engine({ store, placement: { strategy: "spread" as never } })).toThrow(InvalidPlacementError);
    const { engine, store: s2 } = await setup();
    await engine.start();
    await expect(engine.submit(tree("v"), { placement: { granularity: "leaf" as never } })).rejects.toThrow(
      InvalidPlacementError,
    );
    expect(await s2.getTask("vr")).toBeNull();
    const [root] = await engine.createTree(tree("u"));
    await expect(
      engine.execute(root?.id as string, { placement: { strategy: () => "nowhere" } }),
    ).rejects.toMatchObject({ code: -32602, data: { nodeId: "nowhere", taskId: "ur" } });
    expect((await s2.getTask("ur"))?.status).toBe("pending");
    await engine.stop();
  });
});
