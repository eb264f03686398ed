import { type Engine, type Logger, type Registry, type TaskStore, silentLogger } from "@aipartnerupflow/core";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  type CallToolResult,
  ErrorCode as McpErrorCode,
  ListResourcesRequestSchema,
  McpError,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";
import { isServerFault, toRpcError } from "../errors.js";
import type { MethodContext } from "../jsonrpc/context.js";
import { nestsDeeperThan, stringifyJson } from "../jsonrpc/json.js";
import { METHODS, type MethodDefinition, invokeTool } from "../jsonrpc/methods.js";
import type { Elicitor } from "./elicit.js";
import type { WebhookDispatcher } from "../jsonrpc/webhook.js";
import { parseLlmKeyHeader } from "../middleware/llm-keys.js";
import { LOCAL_PRINCIPAL } from "../service/access.js";
import { TaskService } from "../service/task-service.js";
import type { Principal } from "../types.js";
import { VERSION } from "../version.js";

export interface McpDeps {
  engine: Engine;
  store?: TaskStore;
  registry?: Registry;
  /** Whose tasks the tools act on; the local administrator by default (stdio, auth off). */
  principal?: Principal;
  /** Per-request executor secrets (LLM keys). */
  secrets?: Record<string, string>;
  name?: string;
  version?: string;
}

/** Options of one MCP server instance bound to a caller. */
export interface McpServerOptions {
  service: TaskService;
  principal: Principal;
  /** Secrets used when a request carries no `X-LLM-API-KEY` header. */
  secrets: Record<string, string> | undefined;
  name: string;
  version: string;
  log?: Logger;
  startedAt?: number;
  webhooks?: WebhookDispatcher;
  /**
   * Whether this server outlives one request (stdio, or a Streamable HTTP session) so that
   * notifications can reach the client later: only then does `resources/subscribe` accept.
   */
  subscriptions: boolean;
}

/** Root tasks per `resources/list` page. */
export const RESOURCE_PAGE_SIZE = 50;
/** A structured tool result deeper than this goes out as text only (the SDK serialises it recursively). */
const MAX_STRUCTURED_DEPTH = 1000;
/** How long a person has to answer one elicitation; the task keeps waiting after it. */
const ELICIT_TIMEOUT_MS = 15 * 60_000;
/** Subscriptions one server holds at most. */
const MAX_SUBSCRIPTIONS = 1000;

type ToolExtra = {
  requestId: string | number;
  _meta?: { progressToken?: string | number };
  requestInfo?: { headers?: Record<string, string | string[] | undefined> };
  sendNotification: (n: {
    method: "notifications/progress";
    params: { progressToken: string | number; progress: number; total?: number; message?: string };
  }) => Promise<void>;
  signal: AbortSignal;
};

function ok(value: unknown): CallToolResult {
  const structured = value && typeof value === "object" && !Array.isArray(value) ? value : { value };
  const result: CallToolResult = { content: [{ type: "text", text: stringifyJson(value) }] };
  // A very deep value (the nested view of a long parent chain) travels as text only.
  if (!nestsDeeperThan(structured, MAX_STRUCTURED_DEPTH))
    result.structuredContent = structured as Record<string, unknown>;
  return result;
}

function fail(err: unknown): CallToolResult {
  return { isError: true, content: [{ type: "text", text: JSON.stringify({ error: toRpcError(err) }) }] };
}

function logFault(err: unknown, log: Logger): void {
  if (isServerFault(err)) log.error({ err: err instanceof Error ? err.message : String(err) }, "MCP internal error");
}

/** A callback whose errors go out as protocol errors mapped like the tools' (no internals). */
function guardedResource<A extends unknown[], R>(fn: (...args: A) => Promise<R>, log: Logger) {
  return async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } catch (err) {
      logFault(err, log);
      if (err instanceof McpError) throw err;
      const rpc = toRpcError(err);
      throw new McpError(rpc.code, rpc.message, rpc.data);
    }
  };
}

/** `task://<id>` → the id; anything else is not one of ours. */
export function taskIdOfUri(uri: string): string | null {
  if (!uri.startsWith("task://")) return null;
  const id = decodeURIComponent(uri.slice("task://".length));
  return id.length > 0 && !id.includes("/") ? id : null;
}

function encodeCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString("base64url");
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  try {
    const o = (JSON.parse(Buffer.from(cursor, "base64url").toString("utf8")) as { o?: unknown }).o;
    if (typeof o === "number" && Number.isSafeInteger(o) && o >= 0) return o;
  } catch {
    // falls through to the error below
  }
  throw new McpError(McpErrorCode.InvalidParams, "invalid cursor: pass the nextCursor of a previous resources/list");
}

/**
 * The MCP server: one tool per operation of the JSON-RPC method table that names an MCP tool
 * (same params schema, same handler, same error codes), the `task://{id}` and `tasks://list`
 * resources (listed page by page, `task://{id}` subscribable), and progress notifications while
 * `execute_task` waits for a tree (when the client sent a progressToken). Connect it to any
 * transport (Streamable HTTP at /mcp, stdio for `apflow mcp`).
 */
export function createMcpServer(deps: McpDeps): McpServer {
  const service = new TaskService(deps.engine, deps.store ?? deps.engine.store, deps.registry ?? deps.engine.registry);
  return buildMcpServer({
    service,
    principal: deps.principal ?? LOCAL_PRINCIPAL,
    secrets: deps.secrets,
    name: deps.name ?? "aipartnerupflow",
    version: deps.version ?? VERSION,
    subscriptions: true,
  });
}

export function buildMcpServer(options: McpServerOptions): McpServer {
  const { service, principal, name, version } = options;
  const log = options.log ?? silentLogger;
  const startedAt = options.startedAt ?? Date.now();
  const server = new McpServer({ name, version }, { capabilities: { logging: {} } });

  const context = (extra: ToolExtra): MethodContext => {
    const header = extra.requestInfo?.headers?.["x-llm-api-key"];
    const secrets = parseLlmKeyHeader(Array.isArray(header) ? header[0] : header) ?? options.secrets;
    return {
      principal,
      service,
      ...(options.webhooks ? { webhooks: options.webhooks } : {}),
      secrets,
      lastEventId: undefined,
      log,
      version,
      startedAt,
    };
  };

  for (const method of METHODS) registerTool(server, method, context, log);

  server.registerResource(
    "task",
    new ResourceTemplate("task://{id}", { list: undefined }),
    {
      title: "Task",
      description:
        "One task as JSON (with `waiting`: why a pending task has not started); subscribe to be told when it changes",
      mimeType: "application/json",
    },
    guardedResource(async (uri: URL, variables: Record<string, string | string[]>) => {
      const id = String(Array.isArray(variables.id) ? variables.id[0] : variables.id);
      const task = await service.getWithWaiting(principal, decodeURIComponent(id));
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(task) }] };
    }, log),
  );

  server.registerResource(
    "tasks",
    "tasks://list",
    { title: "Recent trees", description: "The 100 newest root tasks as JSON", mimeType: "application/json" },
    guardedResource(async (uri: URL) => {
      const page = await service.list(principal, { rootsOnly: true, limit: 100, order: "-createdAt" });
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(page) }] };
    }, log),
  );

  // resources/list pages through the root tasks with the protocol's cursors (the SDK's own
  // handler lists everything at once); the first page starts with the static resources.
  server.server.setRequestHandler(
    ListResourcesRequestSchema,
    guardedResource(async (request) => {
      const offset = decodeCursor(request.params?.cursor);
      const page = await service.list(principal, {
        rootsOnly: true,
        limit: RESOURCE_PAGE_SIZE,
        offset,
        order: "-createdAt",
      });
      const resources = page.tasks.map((t) => ({
        uri: `task://${encodeURIComponent(t.id)}`,
        name: t.name,
        title: t.name,
        description: `${t.status} tree`,
        mimeType: "application/json",
      }));
      if (offset === 0) {
        resources.unshift({
          uri: "tasks://list",
          name: "tasks",
          title: "Recent trees",
          description: "The 100 newest root tasks as JSON",
          mimeType: "application/json",
        });
      }
      const next = offset + page.tasks.length;
      return { resources, ...(next < page.total && page.tasks.length > 0 ? { nextCursor: encodeCursor(next) } : {}) };
    }, log),
  );

  registerSubscriptions(server, options, log);
  return server;
}

function registerTool(
  server: McpServer,
  method: MethodDefinition,
  context: (extra: ToolExtra) => MethodContext,
  log: Logger,
): void {
  const spec = method.mcp;
  if (!spec) return;
  const inputSchema = spec.params ?? method.params;
  const errors = method.errors.length > 0 ? ` Errors: ${method.errors.join(", ")}.` : "";
  server.registerTool(
    spec.tool,
    {
      title: spec.title,
      description: `${spec.description ?? method.summary} (JSON-RPC ${method.name}.)${errors}`,
      inputSchema: inputSchema as never,
    },
    (async (args: Record<string, unknown>, extra: ToolExtra) => {
      try {
        const token = extra._meta?.progressToken;
        const value = await invokeTool(method, args ?? {}, context(extra), {
          progressToken: token,
          signal: extra.signal,
          ...(elicitor(server, extra) ?? {}),
          sendProgress: async (progress, total, message) => {
            if (token === undefined) return;
            await extra.sendNotification({
              method: "notifications/progress",
              params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), message },
            });
          },
        });
        return ok(value);
      } catch (err) {
        logFault(err, log);
        return fail(err);
      }
    }) as never,
  );
}

/** Form elicitation on this tool call's stream, when the client declared the capability. */
function elicitor(server: McpServer, extra: ToolExtra): { elicit: Elicitor } | undefined {
  if (!server.server.getClientCapabilities()?.elicitation) return undefined;
  return {
    elicit: async (form, signal) => {
      const answer = await server.server.elicitInput(
        { mode: "form", message: form.message, requestedSchema: form.requestedSchema as never },
        { relatedRequestId: extra.requestId, signal, timeout: ELICIT_TIMEOUT_MS },
      );
      return { action: answer.action, ...(answer.content ? { content: answer.content } : {}) };
    },
  };
}

/**
 * `resources/subscribe` on `task://{id}`: while subscribed, every event of that task (and the end
 * of its tree) sends `notifications/resources/updated` with the uri; read the resource for the
 * new state. Subscriptions end with `resources/unsubscribe` or when the server closes.
 */
function registerSubscriptions(server: McpServer, options: McpServerOptions, log: Logger): void {
  const { service, principal } = options;
  const active = new Map<string, AbortController>();
  server.server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });

  server.server.setRequestHandler(
    SubscribeRequestSchema,
    guardedResource(async (request) => {
      const uri = request.params.uri;
      if (!options.subscriptions) {
        throw new McpError(
          McpErrorCode.InvalidRequest,
          "resources/subscribe needs a session: initialize first and send its Mcp-Session-Id header",
        );
      }
      const id = taskIdOfUri(uri);
      if (!id) throw new McpError(McpErrorCode.InvalidParams, `not a subscribable resource: ${uri} (use task://{id})`);
      const task = await service.get(principal, id);
      if (active.has(uri)) return {};
      if (active.size >= MAX_SUBSCRIPTIONS) {
        throw new McpError(McpErrorCode.InvalidRequest, `at most ${MAX_SUBSCRIPTIONS} subscriptions per session`);
      }
      const abort = new AbortController();
      active.set(uri, abort);
      const events = service.follow(principal, {
        rootId: task.rootId,
        taskId: task.id,
        afterSeq: await latestSeq(service, principal, task.rootId),
        until: "never",
        signal: abort.signal,
      });
      void (async () => {
        try {
          for await (const e of events) {
            if (e.taskId !== task.id && e.type !== "tree.finished") continue;
            await server.server.sendResourceUpdated({ uri });
          }
        } catch (err) {
          if (!abort.signal.aborted)
            log.warn({ err: err instanceof Error ? err.message : String(err), uri }, "resource subscription ended");
        } finally {
          if (active.get(uri) === abort) active.delete(uri);
        }
      })();
      return {};
    }, log),
  );

  server.server.setRequestHandler(
    UnsubscribeRequestSchema,
    guardedResource(async (request) => {
      active.get(request.params.uri)?.abort();
      active.delete(request.params.uri);
      return {};
    }, log),
  );

  const previous = server.server.onclose;
  server.server.onclose = () => {
    for (const abort of active.values()) abort.abort();
    active.clear();
    previous?.();
  };
}

/** The newest stored event seq of a tree: a subscription reports changes from now on. */
async function latestSeq(service: TaskService, principal: Principal, rootId: string): Promise<number> {
  let after = 0;
  for (;;) {
    const page = await service.events(principal, { rootId, afterSeq: after, limit: 10_000 });
    if (page.events.length < 10_000) return page.lastSeq;
    after = page.lastSeq;
  }
}
