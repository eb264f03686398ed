import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { ApflowClient, createLogger } from "@aipartnerupflow/api-a2a";
import { describe, expect, it } from "vitest";
import { DEFAULTS, loadConfig, type ServerConfig } from "./config.js";
import { startApflowServer } from "./server.js";

const quiet = createLogger({ level: "silent" });

function config(overrides: Partial<ServerConfig>): ServerConfig {
  const dir = mkdtempSync(join(tmpdir(), "apflow-server-nodes-"));
  return { ...DEFAULTS, port: 0, plugins: [], databaseUrl: `file:${join(dir, "apflow.db")}`, ...overrides };
}

describe("apps/server as a node", () => {
  it("reads the node settings from the environment, refusing bad values by name", () => {
    const c = loadConfig({
      APFLOW_EXECUTE: "0",
      APFLOW_NODE_ID: "api-1",
      APFLOW_NODE_TAGS: "eu, edge",
      APFLOW_LEASE_MS: "5000",
      APFLOW_HEARTBEAT_MS: "500",
      APFLOW_DEAD_AFTER_MS: "4000",
      APFLOW_WAKEUPS: "redis://127.0.0.1:6379",
    });
    expect(c).toMatchObject({
      execute: false,
      nodeId: "api-1",
      nodeTags: ["eu", "edge"],
      leaseMs: 5000,
      heartbeatMs: 500,
      deadAfterMs: 4000,
      wakeups: "redis://127.0.0.1:6379",
    });
    expect(loadConfig({}).wakeups).toBeUndefined();
    expect(() => loadConfig({ APFLOW_EXECUTE: "maybe" })).toThrow(/APFLOW_EXECUTE/);
    expect(() => loadConfig({ APFLOW_LEASE_MS: "5" })).toThrow(/APFLOW_LEASE_MS/);
  });

  it("producer-only (APFLOW_EXECUTE=0): registers with concurrency 0, queues work and runs none; deregisters on close", async () => {
    const cfg = config({ execute: false, nodeId: "api-1", nodeTags: ["eu"] });
    const server = await startApflowServer(cfg, { logger: quiet });
    let rootId: string;
    try {
      const client = new ApflowClient({ url: server.url });
      const { nodes } = await client.call<{ nodes: Array<Record<string, unknown>> }>("nodes.list", {});
      expect(nodes).toEqual([
        expect.objectContaining({ nodeId: "api-1", concurrency: 0, executors: [], tags: ["eu"] }),
      ]);
      ({ rootId } = await client.createTasks([{ name: "info", params: { executorId: "aggregate_results" } }]));
      await client.call("tasks.execute", { taskId: rootId });
      expect(server.engine.claims).toBe(false);
      expect(server.engine.owner).toBe("api-1");
      expect((await client.getTask(rootId)).status).toBe("pending");
      // No live node runs its executor (this one claims nothing), and the read says so.
      const got = await client.call<{ waiting: { reason: string; executor?: string } | null }>("tasks.get", {
        taskId: rootId,
      });
      expect(got.waiting).toMatchObject({ reason: "no_capable_node", executor: "aggregate_results" });
      // SQLite, APFLOW_WAKEUPS unset: one process, no wake-ups (the engine polls).
      expect(server.node?.wakeups).toBeNull();
    } finally {
      await server.close();
    }
    const again = await startApflowServer({ ...cfg, nodeId: "api-2" }, { logger: quiet });
    try {
      const client = new ApflowClient({ url: again.url });
      const { nodes } = await client.call<{ nodes: Array<{ nodeId: string }> }>("nodes.list", {});
      expect(nodes.map((n) => n.nodeId)).toEqual(["api-2"]);
      const { events } = await client.call<{ events: Array<{ type: string }> }>("nodes.events", { nodeId: "api-1" });
      expect(events.map((e) => e.type)).toEqual(["node.registered", "coordinator.elected", "node.deregistered"]);
      expect((await client.getTask(rootId)).status).toBe("pending");
    } finally {
      await again.close();
    }
  }, 60_000);

  it("shutdown stops claiming first, finishes the running task while HTTP still answers, then closes HTTP", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apflow-server-plugin-"));
    const plugin = join(dir, "slow.mjs");
    writeFileSync(
      plugin,
      `export default { name: "slow", setup(r) { r.registerExecutor({ id: "slow", execute: () => new Promise((ok) => setTimeout(() => ok({ slept: true }), 2500)) }); } };\n`,
    );
    const cfg = config({ plugins: [pathToFileURL(plugin).href], shutdownGraceMs: 20_000 });
    const server = await startApflowServer(cfg, { logger: quiet });
    const client = new ApflowClient({ url: server.url });
    const { rootId, tasks } = await client.createTasks([
      { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["slow"] },
      { name: "slow", parentId: "root", params: { executorId: "slow" } },
    ]);
    const slow = tasks.find((t) => t.name === "slow")?.id as string;
    await client.call("tasks.execute", { taskId: rootId });
    await expect.poll(async () => (await client.getTask(slow)).status).toBe("in_progress");
    const closing = server.close();
    // During the grace HTTP still answers, and the task is still running.
    expect((await client.getTask(slow)).status).toBe("in_progress");
    await closing;
    await expect(client.getTask(slow)).rejects.toThrow();
    // The running task finished; the root, ready only after it, was not claimed once closing began.
    const again = await startApflowServer({ ...cfg, execute: false }, { logger: quiet });
    try {
      const reader = new ApflowClient({ url: again.url });
      expect((await reader.getTask(slow)).status).toBe("completed");
      expect((await reader.getTask(rootId)).status).toBe("pending");
    } finally {
      await again.close();
    }
  }, 60_000);

  it("reads APFLOW_PLACEMENT and APFLOW_PLACEMENT_GRANULARITY, refusing a bad granularity by name", () => {
    expect(loadConfig({ APFLOW_PLACEMENT: "round-robin", APFLOW_PLACEMENT_GRANULARITY: "subtree" })).toMatchObject({
      placement: "round-robin",
      placementGranularity: "subtree",
    });
    expect(loadConfig({})).toMatchObject({ placement: undefined, placementGranularity: undefined });
    expect(() => loadConfig({ APFLOW_PLACEMENT_GRANULARITY: "branch" })).toThrow(
      /APFLOW_PLACEMENT_GRANULARITY must be one of task, subtree, root, got "branch"/,
    );
  });

  it("APFLOW_PLACEMENT names a built-in strategy or a plugin's placement function; anything else is refused", async () => {
    const dir = mkdtempSync(join(tmpdir(), "apflow-server-placement-"));
    const plugin = join(dir, "placement.mjs");
    writeFileSync(
      plugin,
      `export default { name: "pin", setup(r) { r.registerPlacement("pin-first", (unit, nodes) => { (globalThis.__pinCalls ??= []).push({ head: unit.head.id, nodes: nodes.map((n) => n.nodeId) }); return nodes[0]?.nodeId ?? null; }); } };\n`,
    );
    const plugins = [pathToFileURL(plugin).href];
    await expect(startApflowServer(config({ plugins, placement: "spread" }), { logger: quiet })).rejects.toThrow(
      /APFLOW_PLACEMENT must be one of capability, round-robin, least-loaded, affinity, pin-first .*got "spread"/,
    );
    const server = await startApflowServer(config({ plugins, placement: "pin-first", nodeId: "api-p" }), {
      logger: quiet,
    });
    try {
      const client = new ApflowClient({ url: server.url });
      const { rootId } = await client.createTasks([{ name: "only", params: { executorId: "aggregate_results" } }]);
      await client.call("tasks.execute", { taskId: rootId });
      const calls = (globalThis as { __pinCalls?: Array<{ head: string; nodes: string[] }> }).__pinCalls ?? [];
      expect(calls).toEqual([{ head: rootId, nodes: ["api-p"] }]);
    } finally {
      await server.close();
    }
  }, 60_000);
});
