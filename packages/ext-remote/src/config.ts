import { OutboundPolicy, parseHostList, type Resolver } from "@aipartnerupflow/core";
import type { McpServerConfig } from "@aipartnerupflow/ext-llm-agents/mcp";

/** Environment variables read (on every run) when the plugin options leave a setting out. */
export const RemoteEnv = {
  /** Comma-separated `host` / `host:port` the `http` and `a2a` executors may reach although internal. */
  outboundAllowHosts: "APFLOW_OUTBOUND_ALLOW_HOSTS",
  /** Comma-separated programs `mcp_tool` may start as stdio MCP servers (exact names or absolute paths). */
  mcpAllowCommands: "APFLOW_MCP_ALLOW_COMMANDS",
  /** Comma-separated `host` / `host:port` of Streamable HTTP MCP servers `mcp_tool` may call. */
  mcpAllowHosts: "APFLOW_MCP_ALLOW_HOSTS",
} as const;

/** Operator configuration of the plugin (`registry.use(remotePlugin, options)`), every field optional. */
export interface RemoteOptions {
  /**
   * Hosts (`name`, `name:port`, `[v6]:port`) that `http` and `a2a` may reach although they are
   * loopback, private or link-local. Default: `APFLOW_OUTBOUND_ALLOW_HOSTS`, else none.
   */
  allowHosts?: string[];
  /** `http`: default and ceiling of `inputs.maxResponseBytes`. Defaults 1 MiB and 10 MiB. */
  http?: {
    defaultMaxResponseBytes?: number;
    maxResponseBytes?: number;
    defaultTimeoutMs?: number;
    maxRedirects?: number;
  };
  /** `a2a`: default `inputs.timeoutMs` (default: none; the task's own timeout applies). */
  a2a?: { defaultTimeoutMs?: number };
  mcp?: {
    /**
     * Programs a task may start as a stdio MCP server: bare names matched exactly against
     * `server.command`, or absolute paths. Default: `APFLOW_MCP_ALLOW_COMMANDS`, else none.
     * Allowing an interpreter (`node`, `python`) allows any script it can run.
     */
    allowCommands?: string[];
    /** Hosts of Streamable HTTP MCP servers a task may name. Default: `APFLOW_MCP_ALLOW_HOSTS`, else none. */
    allowHosts?: string[];
    /** Servers configured by name (`inputs.server: "name"`); always allowed. */
    servers?: Record<string, McpServerConfig>;
    /** Per call timeout when the task sets none. Default 60 s. */
    defaultTimeoutMs?: number;
  };
  /** DNS resolution for the outbound check (tests). */
  resolve?: Resolver;
  /** Replace executors already registered under `http` / `a2a` / `mcp_tool`. */
  override?: boolean;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 1024 * 1024;
export const MAX_RESPONSE_BYTES_CEILING = 10 * 1024 * 1024;
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
export const DEFAULT_MAX_REDIRECTS = 5;
export const DEFAULT_MCP_TIMEOUT_MS = 60_000;

/** The configuration with every default filled in (env read now). */
export interface RemoteConfig {
  allowHosts: string[];
  http: { defaultMaxResponseBytes: number; maxResponseBytes: number; defaultTimeoutMs: number; maxRedirects: number };
  a2a: { defaultTimeoutMs: number | undefined };
  mcp: {
    allowCommands: string[];
    allowHosts: string[];
    servers: Record<string, McpServerConfig>;
    defaultTimeoutMs: number;
  };
  resolve: Resolver | undefined;
}

export function resolveRemoteConfig(
  options: RemoteOptions | undefined,
  env: Readonly<Record<string, string | undefined>> = process.env,
): RemoteConfig {
  const o = options ?? {};
  const ceiling = positive(o.http?.maxResponseBytes) ?? MAX_RESPONSE_BYTES_CEILING;
  return {
    allowHosts: o.allowHosts ?? parseHostList(env[RemoteEnv.outboundAllowHosts]),
    http: {
      maxResponseBytes: ceiling,
      defaultMaxResponseBytes: Math.min(
        positive(o.http?.defaultMaxResponseBytes) ?? DEFAULT_MAX_RESPONSE_BYTES,
        ceiling,
      ),
      defaultTimeoutMs: positive(o.http?.defaultTimeoutMs) ?? DEFAULT_HTTP_TIMEOUT_MS,
      maxRedirects:
        o.http?.maxRedirects !== undefined && o.http.maxRedirects >= 0 ? o.http.maxRedirects : DEFAULT_MAX_REDIRECTS,
    },
    a2a: { defaultTimeoutMs: positive(o.a2a?.defaultTimeoutMs) },
    mcp: {
      allowCommands: o.mcp?.allowCommands ?? parseHostList(env[RemoteEnv.mcpAllowCommands]),
      allowHosts: o.mcp?.allowHosts ?? parseHostList(env[RemoteEnv.mcpAllowHosts]),
      servers: o.mcp?.servers ?? {},
      defaultTimeoutMs: positive(o.mcp?.defaultTimeoutMs) ?? DEFAULT_MCP_TIMEOUT_MS,
    },
    resolve: o.resolve,
  };
}

/** The outbound policy of `http` and `a2a` for one run. */
export function outboundPolicy(config: RemoteConfig, extraAllowHosts: readonly string[] = []): OutboundPolicy {
  return new OutboundPolicy({
    allowHosts: [...config.allowHosts, ...extraAllowHosts],
    ...(config.resolve ? { resolve: config.resolve } : {}),
  });
}

function positive(n: number | undefined): number | undefined {
  return typeof n === "number" && Number.isFinite(n) && n > 0 ? n : undefined;
}
