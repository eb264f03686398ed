// A tiny real MCP server over stdio, started by the tests through StdioClientTransport.
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js";
import { z } from "zod";

const server = new McpServer({ name: "test-math", version: "1.0.0" });

server.registerTool(
  "add",
  { description: "Add two numbers", inputSchema: { a: z.number(), b: z.number() } },
  async ({ a, b }) => ({ content: [{ type: "text", text: String(a + b) }] }),
);

server.registerTool(
  "shout",
  { description: "Upper-case a text", inputSchema: { text: z.string() } },
  async ({ text }) => ({ content: [{ type: "text", text: text.toUpperCase() }] }),
);

server.registerTool(
  "whoami",
  { description: "Report the process id and whether an OpenAI key reached this process", inputSchema: {} },
  async () => ({
    content: [
      {
        type: "text",
        text: JSON.stringify({ pid: process.pid, sawOpenAiKey: process.env.OPENAI_API_KEY !== undefined }),
      },
    ],
  }),
);

await server.connect(new StdioServerTransport());
