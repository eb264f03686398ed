import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { type McpDeps, createMcpServer } from "./server.js";

/** Serve MCP over stdin/stdout (`apflow mcp`); resolves once connected. Close the returned server to stop. */
export async function serveMcpStdio(deps: McpDeps): Promise<McpServer> {
  const server = createMcpServer(deps);
  await server.connect(new StdioServerTransport());
  return server;
}
