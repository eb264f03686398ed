import type { Logger } from "@aipartnerupflow/core";
import { NonRetryableError } from "@aipartnerupflow/core";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js";
import type { McpServerConfig } from "./types.js";

/**
 * The MCP client of this package, without the AI SDK: connect to one server (stdio or Streamable
 * HTTP), list its tools, call them. The agent executors wrap it as model tools (`mcp-tools.ts`);
 * other packages (ext-remote's `mcp_tool`) import it from `@aipartnerupflow/ext-llm-agents/mcp`.
 */

/** `task.error.code` of an MCP server that could not be started or reached (same as `LlmErrorCode.McpError`). */
export const MCP_ERROR = "MCP_ERROR";

/** The package version, sent to MCP servers as client info. */
const CLIENT_INFO = { name: "aipartnerupflow-ext-llm-agents", version: "0.1.0" };

export interface McpToolInfo {
  name: string;
  description?: string;
  inputSchema: { [key: string]: unknown };
}

/** A connected server and the tools it lists. `client.close()` ends it (a stdio server's process too). */
export interface McpConnection {
  client: Client;
  tools: McpToolInfo[];
}

export interface McpConnectOptions {
  signal: AbortSignal;
  log: Logger;
  /** `fetch` for Streamable HTTP servers (for example one that refuses internal addresses). */
  fetch?: typeof fetch;
}

/**
 * Connect to one MCP server and list its tools. A server that cannot be started, reached or
 * initialized fails with a `NonRetryableError` coded `MCP_ERROR` naming the server.
 */
export async function openMcpConnection(
  name: string,
  config: McpServerConfig,
  options: McpConnectOptions,
): Promise<McpConnection> {
  const { signal, log } = options;
  const client = new Client(CLIENT_INFO);
  const transport = createMcpTransport(config, log.child({ mcpServer: name }), options.fetch);
  try {
    await client.connect(transport, { signal });
    const tools: McpToolInfo[] = [];
    let cursor: string | undefined;
    do {
      const page = await client.listTools(cursor ? { cursor } : undefined, { signal });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor);
    return { client, tools };
  } catch (err) {
    await client.close().catch(() => undefined);
    throw new NonRetryableError(`MCP server "${name}": ${(err as Error).message}`, {
      code: MCP_ERROR,
      cause: err,
    });
  }
}

/** The SDK transport for a server configuration (stdio: a child process with a minimal environment). */
export function createMcpTransport(config: McpServerConfig, log: Logger, fetchImpl?: typeof fetch): Transport {
  if (config.transport === "http") {
    return new StreamableHTTPClientTransport(new URL(config.url), {
      ...(config.headers ? { requestInit: { headers: config.headers } } : {}),
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
  }
  const transport = new StdioClientTransport({
    command: config.command,
    args: config.args ?? [],
    // The default environment (PATH, HOME, ...) plus what the config adds: provider keys of
    // this process are not handed to MCP servers.
    env: { ...getDefaultEnvironment(), ...(config.env ?? {}) },
    cwd: config.cwd,
    stderr: "pipe",
  });
  transport.stderr?.on("data", (chunk: Buffer) =>
    log.debug({ stderr: chunk.toString("utf8").trimEnd() }, "mcp server stderr"),
  );
  return transport;
}
