import { nodeRegistration } from "@aipartnerupflow/core/testing";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createToken } from "../auth/token.js";
import type { ServerHandle } from "../server.js";
import { listen, testApp } from "../testing/fixtures.js";

type ToolReply = { isError?: boolean; content: Array<{ type: string; text?: string }>; structuredContent?: any };

const SECRET = "mcp-nodes-secret-0123456789abcdef";
const { app, engine } = testApp({ auth: { jwtSecret: SECRET } });
let server: ServerHandle;

beforeAll(async () => {
  await engine.start();
  server = await listen(app);
});
afterAll(async () => {
  await engine.stop({ graceMs: 0 });
  await server.close();
});

async function connect(token: string): Promise<Client> {
  const client = new Client({ name: "nodes-test", version: "1.0.0" });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/mcp`), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    }),
  );
  return client;
}

const call = async (client: Client, name: string, args: Record<string, unknown> = {}): Promise<ToolReply> =>
  (await client.callTool({ name, arguments: args })) as ToolReply;

const errorOf = (reply: ToolReply) => JSON.parse(reply.content[0]?.text ?? "{}").error;

describe("MCP nodes tools (the node registry, administrators only)", () => {
  it("list, get, drain, requeue and node events for an admin; refused for another user", async () => {
    const nodes = engine.store.nodes;
    if (!nodes) throw new Error("test store has no nodes facet");
    const now = engine.clock();
    await nodes.register(nodeRegistration("mcp-alive", { heartbeatMs: 60_000, deadAfterMs: 600_000 }), now);
    await nodes.heartbeat(
      "mcp-alive",
      { running: 0, load: 0, wakeups: { transport: "nats", connected: false, since: now } },
      now,
    );
    await nodes.register(
      nodeRegistration("mcp-gone", { heartbeatMs: 10, deadAfterMs: 100 }),
      new Date(now.getTime() - 60_000),
    );

    const alice = await connect(await createToken({ secret: SECRET, sub: "alice" }));
    try {
      for (const [tool, args] of [
        ["list_nodes", {}],
        ["get_node", { nodeId: "mcp-alive" }],
        ["drain_node", { nodeId: "mcp-alive" }],
        ["requeue_node", { nodeId: "mcp-gone" }],
        ["list_node_events", {}],
      ] as const) {
        const reply = await call(alice, tool, args);
        expect(reply.isError, tool).toBe(true);
        expect(errorOf(reply).code, tool).toBe(-32004);
      }
    } finally {
      await alice.close();
    }
    // Nothing was drained or handed back by the refused calls.
    expect((await nodes.get("mcp-alive"))?.draining).toBe(false);

    const admin = await connect(await createToken({ secret: SECRET, sub: "root", roles: ["admin"] }));
    try {
      const listed = (await call(admin, "list_nodes")).structuredContent?.nodes as Array<{
        nodeId: string;
        state: string;
      }>;
      expect(listed.map((n) => [n.nodeId, n.state])).toEqual(
        expect.arrayContaining([
          ["mcp-gone", "dead"],
          ["mcp-alive", "idle"],
        ]),
      );
      expect((await call(admin, "get_node", { nodeId: "mcp-alive" })).structuredContent).toMatchObject({
        nodeId: "mcp-alive",
        state: "idle",
        wakeups: { transport: "nats", connected: false, since: now.toISOString() },
      });
      const missing = await call(admin, "get_node", { nodeId: "nope" });
      expect(missing.isError).toBe(true);
      expect(errorOf(missing).code).toBe(-32001);
      expect((await call(admin, "drain_node", { nodeId: "mcp-alive" })).structuredContent?.state).toBe("draining");
      expect((await call(admin, "drain_node", { nodeId: "mcp-alive", draining: false })).structuredContent?.state).toBe(
        "idle",
      );
      const refused = await call(admin, "requeue_node", { nodeId: "mcp-alive" });
      expect(refused.isError).toBe(true);
      expect(errorOf(refused).code).toBe(-32602);
      expect((await call(admin, "requeue_node", { nodeId: "mcp-gone" })).structuredContent).toEqual({
        nodeId: "mcp-gone",
        state: "dead",
        tasks: [],
      });
      const events = (await call(admin, "list_node_events", { nodeId: "mcp-gone" })).structuredContent?.events;
      expect(events.map((e: { type: string }) => e.type)).toEqual(["node.leases_handed_back"]);
    } finally {
      await admin.close();
    }
  });
});
