import { Engine, MemoryStore, Registry } from "@aipartnerupflow/core";
import { describe, expect, it } from "vitest";
import defaultExport, { createHttpExecutor, PLUGIN_NAME, remotePlugin, resolveRemoteConfig } from "./index.js";

describe("remotePlugin", () => {
  it("is the default export and registers http, a2a and mcp_tool with schemas, tags and examples", async () => {
    expect(defaultExport).toBe(remotePlugin);
    expect(remotePlugin.name).toBe(PLUGIN_NAME);
    const registry = new Registry();
    await registry.use(remotePlugin, {});
    const meta = registry.listExecutors();
    const http = meta.find((m) => m.id === "http");
    const a2a = meta.find((m) => m.id === "a2a");
    const mcp = meta.find((m) => m.id === "mcp_tool");
    expect(http?.inputSchema).toMatchObject({
      type: "object",
      required: expect.arrayContaining(["url"]),
      properties: { method: { enum: ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"] }, okStatus: { type: "array" } },
    });
    expect(http?.outputSchema).toMatchObject({ properties: { status: {}, headers: {}, body: {} } });
    expect(a2a?.inputSchema).toMatchObject({ required: expect.arrayContaining(["agentUrl", "message"]) });
    expect(mcp?.inputSchema).toMatchObject({ required: expect.arrayContaining(["server", "tool"]) });
    for (const m of [http, a2a, mcp]) {
      expect(m?.cancelable).toBe(true);
      expect(m?.tags).toContain("remote");
      expect(m?.examples.length).toBeGreaterThan(0);
    }
  });

  it("refuses a second registration of the same ids unless override is set", async () => {
    const registry = new Registry();
    registry.registerExecutor(createHttpExecutor());
    await expect(registry.use(remotePlugin, {})).rejects.toThrow(/already registered/);
    const again = new Registry();
    again.registerExecutor(createHttpExecutor());
    await again.use(remotePlugin, { override: true });
    expect(again.hasExecutor("mcp_tool")).toBe(true);
  });

  it("options win over the environment; blank env entries are dropped; bounds are sane", () => {
    const env = {
      APFLOW_OUTBOUND_ALLOW_HOSTS: " api.internal:8443, ,10.0.0.7 ",
      APFLOW_MCP_ALLOW_COMMANDS: "mcp-server-time",
      APFLOW_MCP_ALLOW_HOSTS: "mcp.internal",
    };
    const fromEnv = resolveRemoteConfig({}, env);
    expect(fromEnv.allowHosts).toEqual(["api.internal:8443", "10.0.0.7"]);
    expect(fromEnv.mcp.allowCommands).toEqual(["mcp-server-time"]);
    expect(fromEnv.mcp.allowHosts).toEqual(["mcp.internal"]);
    const fromOptions = resolveRemoteConfig(
      { allowHosts: [], mcp: { allowCommands: ["x"] }, http: { defaultMaxResponseBytes: 50, maxResponseBytes: 10 } },
      env,
    );
    expect(fromOptions.allowHosts).toEqual([]);
    expect(fromOptions.mcp.allowCommands).toEqual(["x"]);
    expect(fromOptions.http.defaultMaxResponseBytes).toBe(10);
  });

  it("in demo mode each executor returns its demo result, valid against its output schema, contacting nothing", async () => {
    const registry = new Registry();
    await registry.use(remotePlugin, {});
    const engine = new Engine({ store: new MemoryStore(), registry, pollIntervalMs: 50 });
    try {
      const outcome = await engine.runTree(
        [
          { id: "root", name: "root", params: { executorId: "aggregate_results" }, dependencies: ["h", "a", "m"] },
          {
            id: "h",
            name: "h",
            parentId: "root",
            params: { executorId: "http" },
            inputs: { url: "https://api.example.com/x" },
          },
          {
            id: "a",
            name: "a",
            parentId: "root",
            params: { executorId: "a2a" },
            inputs: { agentUrl: "https://agent.example.com", message: { text: "hi" } },
          },
          {
            id: "m",
            name: "m",
            parentId: "root",
            params: { executorId: "mcp_tool" },
            inputs: { server: "files", tool: "read_file" },
          },
        ],
        { demo: true },
      );
      expect(outcome.status).toBe("completed");
      const byId = Object.fromEntries(outcome.tasks.map((t) => [t.id, t.result]));
      expect(byId.h).toMatchObject({ status: 200, body: { demo: true, url: "https://api.example.com/x" } });
      expect(byId.a).toMatchObject({ state: "completed", text: expect.stringContaining("hi") });
      expect(byId.m).toMatchObject({ text: expect.stringContaining("read_file") });
    } finally {
      await engine.stop({ graceMs: 1000 });
    }
  });
});
