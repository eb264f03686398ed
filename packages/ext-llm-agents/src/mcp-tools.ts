import type { ExecutorContext, JsonValue } from "@aipartnerupflow/core";
import { NonRetryableError } from "@aipartnerupflow/core";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { dynamicTool, type JSONSchema7, jsonSchema } from "ai";
import { LlmErrorCode } from "./failures.js";
import { type McpConnection as Connection, type McpToolInfo, openMcpConnection } from "./mcp-client.js";
import { type SdkToolSet, toolName } from "./tools.js";
import type { LlmAgentsOptions, McpServerConfig } from "./types.js";

/**
 * Which MCP tools an agent may use: a server configured in the plugin options by name, or (when
 * `allowInlineMcpServers` is on) a server defined inline. `tools` is the allow-list of the
 * server's tool names; omitted means every tool the server lists.
 */
export type McpUse = { server: string; tools?: string[] } | (McpServerConfig & { name: string; tools?: string[] });

/**
 * The MCP servers one task talks to. Servers are connected on first use and shared by every
 * agent of the task (a crew), and all closed by `close()` — stdio server processes end with it.
 * Tools are exposed to the model as `<server>__<tool>`.
 */
export class McpConnections {
  private readonly connections = new Map<string, Promise<Connection>>();

  constructor(
    private readonly options: Pick<LlmAgentsOptions, "mcpServers" | "allowInlineMcpServers">,
    private readonly ctx: Pick<ExecutorContext, "signal" | "log">,
  ) {}

  /** The AI SDK tools for these uses (allow-lists applied). */
  async toolsFor(uses: readonly McpUse[] | undefined): Promise<SdkToolSet> {
    const tools: SdkToolSet = {};
    for (const use of uses ?? []) {
      const { name, config } = this.configFor(use);
      const connection = await this.connect(name, config);
      const allowed = use.tools;
      if (allowed) {
        const missing = allowed.filter((t) => !connection.tools.some((info) => info.name === t));
        if (missing.length > 0) {
          throw new NonRetryableError(
            `MCP server "${name}" has no tool ${missing.map((m) => `"${m}"`).join(", ")} (it lists: ${connection.tools.map((t) => t.name).join(", ") || "none"})`,
            { code: LlmErrorCode.McpError },
          );
        }
      }
      for (const info of connection.tools) {
        if (allowed && !allowed.includes(info.name)) continue;
        tools[toolName(`${name}__${info.name}`)] = this.wrap(connection.client, info);
      }
    }
    return tools;
  }

  async close(): Promise<void> {
    const all = [...this.connections.values()];
    this.connections.clear();
    await Promise.all(
      all.map(async (pending) => {
        try {
          await (await pending).client.close();
        } catch {
          // a server that failed to start has nothing to close
        }
      }),
    );
  }

  private configFor(use: McpUse): { name: string; config: McpServerConfig } {
    if ("server" in use) {
      const config = this.options.mcpServers?.[use.server];
      if (!config) {
        const known = Object.keys(this.options.mcpServers ?? {});
        throw new NonRetryableError(
          `unknown MCP server "${use.server}" (configured: ${known.join(", ") || "none"}; see the plugin option mcpServers)`,
          { code: LlmErrorCode.McpError },
        );
      }
      return { name: use.server, config };
    }
    if (!this.options.allowInlineMcpServers) {
      throw new NonRetryableError(
        `inline MCP server "${use.name}" refused: enable the plugin option allowInlineMcpServers, or configure it under mcpServers`,
        { code: LlmErrorCode.McpError },
      );
    }
    const { name, tools: _tools, ...config } = use;
    return { name, config };
  }

  private connect(name: string, config: McpServerConfig): Promise<Connection> {
    let pending = this.connections.get(name);
    if (!pending) {
      pending = openMcpConnection(name, config, { signal: this.ctx.signal, log: this.ctx.log });
      this.connections.set(name, pending);
    }
    return pending;
  }

  private wrap(client: Client, info: McpToolInfo) {
    const signal = this.ctx.signal;
    return dynamicTool({
      description: info.description ?? info.name,
      inputSchema: jsonSchema(info.inputSchema as JSONSchema7),
      execute: async (input) => {
        const result = await client.callTool(
          { name: info.name, arguments: (input ?? {}) as Record<string, unknown> },
          undefined,
          { signal },
        );
        const content = Array.isArray(result.content) ? (result.content as Array<{ type: string; text?: string }>) : [];
        const text = content
          .filter((c) => c.type === "text")
          .map((c) => c.text ?? "")
          .join("\n");
        // An error result goes back to the model as a tool error, so it can react to it.
        if (result.isError) throw new Error(text || `MCP tool ${info.name} failed`);
        if (result.structuredContent) return result.structuredContent as JsonValue;
        return content.every((c) => c.type === "text") ? text : (content as unknown as JsonValue);
      },
    });
  }
}
