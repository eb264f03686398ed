import path from "node:path";
import {
  type ExecutorContext,
  type ExecutorDefinition,
  hostAllowed,
  type JsonValue,
  OutboundRefused,
  parseAllowEntry,
  type AllowEntry,
} from "@aipartnerupflow/core";
import { type McpConnection, type McpServerConfig, openMcpConnection } from "@aipartnerupflow/ext-llm-agents/mcp";
import { REFUSED_ENV_VARIABLES } from "@aipartnerupflow/ext-stdio";
import { outboundPolicy, type RemoteConfig, type RemoteOptions, resolveRemoteConfig } from "../config.js";
import { fail, parseInputs, RemoteErrorCode, refuse } from "../errors.js";
import { createGuardedFetch } from "../fetch.js";
import { checkHeaderNames } from "../headers.js";
import { reveal } from "../secrets.js";
import { findCause, scrub } from "../util.js";
import { type McpToolInputs, type McpToolResult, mcpToolInputSchema, mcpToolResultSchema } from "./schema.js";

export const MCP_TOOL_EXECUTOR_ID = "mcp_tool";

/** The `mcp_tool` executor: call one tool of an MCP server the operator allows (configuration read per run). */
export function createMcpToolExecutor(
  options?: RemoteOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ExecutorDefinition<McpToolInputs, McpToolResult> {
  return {
    id: MCP_TOOL_EXECUTOR_ID,
    name: "MCP tool",
    description:
      "Calls one tool of an MCP server (stdio or Streamable HTTP) and returns its content. Servers must be allowed by the operator (configured by name, or APFLOW_MCP_ALLOW_COMMANDS / APFLOW_MCP_ALLOW_HOSTS).",
    tags: ["remote", "mcp", "tool"],
    inputSchema: mcpToolInputSchema,
    outputSchema: mcpToolResultSchema,
    cancelable: true,
    demoResult: (inputs) => demoMcpToolResult(inputs),
    examples: [
      {
        description: "A tool of a server the operator configured by name",
        inputs: { server: "files", tool: "read_file", arguments: { path: "README.md" } },
      },
      {
        description: "A stdio server whose program is allow-listed",
        inputs: {
          server: { command: "mcp-server-time", args: [] },
          tool: "get_current_time",
          arguments: { timezone: "UTC" },
        },
      },
    ],
    execute: (inputs, ctx) => executeMcpTool(inputs, ctx, resolveRemoteConfig(options, env)),
  };
}

export async function executeMcpTool(raw: unknown, ctx: ExecutorContext, config: RemoteConfig): Promise<McpToolResult> {
  const inputs = parseInputs(mcpToolInputSchema, raw);
  const revealed: string[] = [];
  const { name, server } = allowedServer(inputs, config, ctx, revealed);
  const timeoutMs = inputs.timeoutMs ?? config.mcp.defaultTimeoutMs;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  const mcpHosts = config.mcp.allowHosts;
  const fetchImpl =
    server.transport === "http"
      ? createGuardedFetch({ policy: outboundPolicy(config, mcpHosts), what: "MCP server url", maxRedirects: 3 })
      : undefined;

  const onError = (err: unknown, doing: string): never => {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (timeout.aborted || (err as { code?: unknown }).code === -32001) {
      throw fail(RemoteErrorCode.McpTimeout, `MCP server "${name}": ${doing} did not finish within ${timeoutMs} ms`, {
        server: name,
        timeoutMs,
      });
    }
    const refused = findCause(err, (e): e is OutboundRefused => e instanceof OutboundRefused);
    if (refused) throw refuse(RemoteErrorCode.OutboundRefused, scrub(refused.message, revealed), { server: name });
    const message = scrub((err as Error).message ?? String(err), revealed);
    throw fail(RemoteErrorCode.McpError, `MCP server "${name}": ${doing} failed: ${message}`, { server: name }, err);
  };

  let connection: McpConnection;
  try {
    connection = await openMcpConnection(name, server, {
      signal,
      log: ctx.log,
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
  } catch (err) {
    // openMcpConnection wraps what went wrong; its cause says what.
    return onError(err instanceof Error && err.cause !== undefined ? err.cause : err, "connecting");
  }
  try {
    if (!connection.tools.some((t) => t.name === inputs.tool)) {
      throw refuse(
        RemoteErrorCode.McpUnknownTool,
        `MCP server "${name}" has no tool "${inputs.tool}" (it lists: ${connection.tools.map((t) => t.name).join(", ") || "none"})`,
        { server: name, tool: inputs.tool, tools: connection.tools.map((t) => t.name) },
      );
    }
    let result: Awaited<ReturnType<typeof connection.client.callTool>>;
    try {
      result = await connection.client.callTool({ name: inputs.tool, arguments: inputs.arguments }, undefined, {
        signal,
        timeout: timeoutMs,
      });
    } catch (err) {
      return onError(err, `calling ${inputs.tool}`);
    }
    const content = (Array.isArray(result.content) ? result.content : []) as Array<Record<string, JsonValue>>;
    const text = content
      .filter((c) => c.type === "text" && typeof c.text === "string")
      .map((c) => c.text as string)
      .join("\n");
    if (result.isError) {
      throw fail(
        RemoteErrorCode.McpToolError,
        `MCP tool ${inputs.tool} of "${name}" failed${text ? `: ${text.slice(0, 500)}` : ""}`,
        {
          server: name,
          tool: inputs.tool,
          content,
        },
      );
    }
    return {
      content,
      structuredContent: (result.structuredContent ?? null) as JsonValue,
      text,
    };
  } finally {
    // Ends a stdio server's process.
    await connection.client.close().catch(() => undefined);
  }
}

/** The server to use, refused (`MCP_SERVER_NOT_ALLOWED`) unless the operator's configuration allows it. */
function allowedServer(
  inputs: McpToolInputs,
  config: RemoteConfig,
  ctx: ExecutorContext,
  revealed: string[],
): { name: string; server: McpServerConfig } {
  const spec = inputs.server;
  if (typeof spec === "string") {
    const server = config.mcp.servers[spec];
    if (!server) {
      const known = Object.keys(config.mcp.servers);
      throw refuse(
        RemoteErrorCode.McpNotAllowed,
        `unknown MCP server "${spec}" (configured: ${known.join(", ") || "none"}; see the plugin option mcp.servers)`,
        { server: spec, configured: known },
      );
    }
    return { name: spec, server };
  }
  if ("command" in spec) {
    const allowed = config.mcp.allowCommands;
    const ok = path.isAbsolute(spec.command)
      ? allowed.includes(spec.command)
      : !spec.command.includes("/") && allowed.includes(spec.command);
    if (!ok) {
      throw refuse(
        RemoteErrorCode.McpNotAllowed,
        `MCP server program "${spec.command}" is not allowed (allowed: ${allowed.join(", ") || "none"}; an operator adds it to APFLOW_MCP_ALLOW_COMMANDS)`,
        { command: spec.command },
      );
    }
    for (const variable of Object.keys(spec.env ?? {})) {
      if (refusedEnv(variable)) {
        throw refuse(
          RemoteErrorCode.McpNotAllowed,
          `inputs.server.env may not set ${variable}: it can make the program run other code`,
          { variable },
        );
      }
    }
    return {
      name: spec.command,
      server: { transport: "stdio", command: spec.command, args: spec.args, ...(spec.env ? { env: spec.env } : {}) },
    };
  }
  let url: URL;
  try {
    url = new URL(spec.url);
  } catch {
    throw refuse(RemoteErrorCode.InvalidInputs, `inputs.server.url is not a valid URL: ${spec.url}`);
  }
  const entries = config.mcp.allowHosts.map(parseAllowEntry).filter((e): e is AllowEntry => e !== undefined);
  if ((url.protocol !== "http:" && url.protocol !== "https:") || !hostAllowed(url, entries)) {
    throw refuse(
      RemoteErrorCode.McpNotAllowed,
      `MCP server ${url.host} is not allowed (allowed hosts: ${config.mcp.allowHosts.join(", ") || "none"}; an operator adds it to APFLOW_MCP_ALLOW_HOSTS)`,
      { host: url.host },
    );
  }
  checkHeaderNames(spec.headers, "inputs.server.headers");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(spec.headers ?? {})) {
    const v = reveal(value, ctx.secrets, `inputs.server.headers.${name}`);
    if (typeof value !== "string") revealed.push(v);
    headers[name] = v;
  }
  return { name: url.host, server: { transport: "http", url: url.href, headers } };
}

function refusedEnv(name: string): boolean {
  const upper = name.toUpperCase();
  return REFUSED_ENV_VARIABLES.some((entry) =>
    entry.endsWith("*") ? upper.startsWith(entry.slice(0, -1)) : upper === entry,
  );
}

/** What demo mode returns: a text item naming the call. */
export function demoMcpToolResult(inputs: Partial<McpToolInputs> | undefined): McpToolResult {
  const text = `[demo] would call MCP tool ${typeof inputs?.tool === "string" ? inputs.tool : "(tool)"}`;
  return { content: [{ type: "text", text }], structuredContent: null, text };
}
