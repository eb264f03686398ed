// A small real MCP server over stdio, started by the mcp_tool tests through the MCP SDK client.
import { writeFileSync } from "node:fs";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

if (process.env.PIDFILE) writeFileSync(process.env.PIDFILE, String(process.pid));

const server = new McpServer({ name: "remote-test", version: "1.0.0" });

server.registerTool(
  "add",
  { description: "Add two numbers", inputSchema: { a: z.number(), b: z.number() } },
  async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
);
server.registerTool(
  "stats",
  { description: "Structured result", inputSchema: {}, outputSchema: { count: z.number() } },
  async () => ({ content: [{ type: "text", text: '{"count":3}' }], structuredContent: { count: 3 } }),
);
server.registerTool("broken", { description: "Fails", inputSchema: {} }, async () => ({
  isError: true,
  content: [{ type: "text", text: "backend down" }],
}));
server.registerTool(
  "env",
  { description: "Reports an environment variable", inputSchema: { name: z.string() } },
  async ({ name }) => ({
    content: [{ type: "text", text: process.env[name] ?? "(unset)" }],
  }),
);
server.registerTool("hang", { description: "Never answers", inputSchema: {} }, () => new Promise(() => {}));

await server.connect(new StdioServerTransport());
