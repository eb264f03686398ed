/** `@aipartnerupflow/ext-llm-agents/mcp`: the MCP client alone, without the AI SDK. */
export {
  createMcpTransport,
  MCP_ERROR,
  type McpConnectOptions,
  type McpConnection,
  type McpToolInfo,
  openMcpConnection,
} from "./mcp-client.js";
export type { McpServerConfig } from "./types.js";
