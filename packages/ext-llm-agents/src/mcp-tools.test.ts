import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { silentLogger } from "@aipartnerupflow/core";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { McpConnections } from "./mcp-tools.js";

/** A real MCP server over Streamable HTTP (stateless: one server per request), on a free port. */
let http: Server;
let url: string;
const seenHeaders: Array<string | undefined> = [];
/** Client connections completed (the `initialized` notification of the MCP handshake). */
let initialized = 0;

beforeAll(async () => {
  http = createServer(async (req, res) => {
    seenHeaders.push(req.headers["x-team"] as string | undefined);
    const server = new McpServer({ name: "http-test", version: "1.0.0" });
    server.server.oninitialized = () => {
      initialized++;
    };
    server.registerTool("echo", { description: "Echo", inputSchema: { text: z.string() } }, async ({ text }) => ({
      content: [{ type: "text", text }],
    }));
    server.registerTool("broken", { description: "Fails", inputSchema: {} }, async () => ({
      isError: true,
      content: [{ type: "text", text: "backend down" }],
    }));
    server.registerTool(
      "stats",
      { description: "Structured", inputSchema: {}, outputSchema: { count: z.number() } },
      async () => ({ content: [{ type: "text", text: '{"count":3}' }], structuredContent: { count: 3 } }),
    );
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
});

afterAll(async () => {
  await new Promise((resolve) => http.close(resolve));
});

function connections(): McpConnections {
  return new McpConnections(
    { mcpServers: { remote: { transport: "http", url, headers: { "x-team": "blue" } } } },
    { signal: new AbortController().signal, log: silentLogger },
  );
}

const callOptions = { toolCallId: "c1", messages: [] };

describe("MCP tools over Streamable HTTP", () => {
  it("lists the server's tools under <server>__<tool>, sends configured headers, and calls them", async () => {
    const mcp = connections();
    try {
      const tools = await mcp.toolsFor([{ server: "remote" }]);
      expect(Object.keys(tools).sort()).toEqual(["remote__broken", "remote__echo", "remote__stats"]);
      expect(await tools.remote__echo?.execute?.({ text: "hello" }, callOptions)).toBe("hello");
      expect(await tools.remote__stats?.execute?.({}, callOptions)).toEqual({ count: 3 });
      await expect(tools.remote__broken?.execute?.({}, callOptions)).rejects.toThrow("backend down");
      expect(seenHeaders).toContain("blue");
    } finally {
      await mcp.close();
    }
  });

  it("applies the allow-list and connects once per server", async () => {
    const mcp = connections();
    try {
      const before = initialized;
      const first = await mcp.toolsFor([{ server: "remote", tools: ["echo"] }]);
      const second = await mcp.toolsFor([{ server: "remote", tools: ["stats"] }]);
      expect(Object.keys(first)).toEqual(["remote__echo"]);
      expect(Object.keys(second)).toEqual(["remote__stats"]);
      expect(initialized - before).toBe(1);
    } finally {
      await mcp.close();
    }
  });

  it("fails clearly when the server cannot be reached", async () => {
    const mcp = new McpConnections(
      { mcpServers: { gone: { transport: "http", url: "http://127.0.0.1:1/mcp" } } },
      { signal: new AbortController().signal, log: silentLogger },
    );
    await expect(mcp.toolsFor([{ server: "gone" }])).rejects.toMatchObject({ code: "MCP_ERROR" });
    await mcp.close();
  });
});
