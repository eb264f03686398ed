import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { Hono } from "hono";
import type { AppEnv } from "../env.js";
import type { TaskService } from "../service/task-service.js";
import { buildMcpServer } from "./server.js";

/**
 * MCP Streamable HTTP at /mcp, stateless: each request gets its own server bound to the caller
 * (its principal and LLM keys), so isolation holds without sessions.
 */
export function mcpRoutes(deps: { service: TaskService; name: string; version: string }): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.all("/mcp", async (c) => {
    const server = buildMcpServer(
      deps.service,
      c.get("principal"),
      c.get("secrets"),
      deps.name,
      deps.version,
      c.get("log"),
    );
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: false,
    });
    await server.connect(transport);
    const response = await transport.handleRequest(c.req.raw);
    if (!response.body) await server.close();
    return response;
  });
  return app;
}
