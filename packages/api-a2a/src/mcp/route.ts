import { randomUUID } from "node:crypto";
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import type { TaskService } from "../service/task-service.js";
import type { Principal } from "../types.js";
import { buildMcpServer } from "./server.js";

export interface McpRouteDeps {
  service: TaskService;
  name: string;
  version: string;
  startedAt?: number;
  /** Sessions kept at most (the least recently used one is closed past it). Default 1000. */
  maxSessions?: number;
  /** A session unused this long is closed. Default 30 minutes. */
  idleMs?: number;
}

interface Session {
  server: McpServer;
  transport: WebStandardStreamableHTTPServerTransport;
  owner: string;
  lastUsed: number;
}

const SESSION_HEADER = "mcp-session-id";

function ownerOf(p: Principal): string {
  return `${p.admin ? "admin" : "user"}:${p.userId ?? ""}`;
}

/**
 * MCP Streamable HTTP at /mcp. An `initialize` request opens a session: its server stays bound to
 * the caller (a request of another user naming the session is answered as if it did not exist),
 * so `resources/subscribe` can notify over the session's GET stream. A request without a session
 * (no initialize first) is served by a server made for that request alone, as before.
 */
export function mcpRoutes(deps: McpRouteDeps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const sessions = new Map<string, Session>();
  const maxSessions = deps.maxSessions ?? 1000;
  const idleMs = deps.idleMs ?? 30 * 60_000;

  const close = (id: string): void => {
    const session = sessions.get(id);
    if (!session) return;
    sessions.delete(id);
    void session.server.close().catch(() => undefined);
  };
  let lastSweep = Date.now();
  const sweep = (): void => {
    const now = Date.now();
    lastSweep = now;
    for (const [id, s] of sessions) if (now - s.lastUsed > idleMs) close(id);
    while (sessions.size >= maxSessions) {
      const oldest = sessions.keys().next().value;
      if (oldest === undefined) break;
      close(oldest);
    }
  };

  const build = (c: Context<AppEnv>, subscriptions: boolean) =>
    buildMcpServer({
      service: deps.service,
      principal: c.get("principal"),
      secrets: c.get("secrets"),
      name: deps.name,
      version: deps.version,
      log: c.get("log"),
      ...(deps.startedAt !== undefined ? { startedAt: deps.startedAt } : {}),
      subscriptions,
    });

  app.all("/mcp", async (c) => {
    if (Date.now() - lastSweep > 60_000) sweep();
    const sessionId = c.req.header(SESSION_HEADER);
    if (sessionId !== undefined) {
      const session = sessions.get(sessionId);
      if (!session || session.owner !== ownerOf(c.get("principal"))) {
        return c.json({ jsonrpc: "2.0", id: null, error: { code: -32001, message: "session not found" } }, 404);
      }
      session.lastUsed = Date.now();
      // Most recently used last, so the sweep closes the least recently used first.
      sessions.delete(sessionId);
      sessions.set(sessionId, session);
      const response = await session.transport.handleRequest(c.req.raw);
      if (c.req.method === "DELETE") close(sessionId);
      return response;
    }

    const raw = c.req.raw;
    const body = c.req.method === "POST" ? await readJson(raw.clone()) : undefined;
    if (isInitialize(body)) {
      sweep();
      const server = build(c, true);
      const owner = ownerOf(c.get("principal"));
      const transport: WebStandardStreamableHTTPServerTransport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: false,
        onsessioninitialized: (id) => {
          sessions.set(id, { server, transport, owner, lastUsed: Date.now() });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
      };
      await server.connect(transport);
      return transport.handleRequest(raw, body === undefined ? {} : { parsedBody: body });
    }

    const server = build(c, false);
    const transport = new WebStandardStreamableHTTPServerTransport({
      sessionIdGenerator: undefined,
      enableJsonResponse: false,
    });
    await server.connect(transport);
    const response = await transport.handleRequest(raw, body === undefined ? {} : { parsedBody: body });
    if (!response.body) await server.close();
    return response;
  });
  return app;
}

async function readJson(request: Request): Promise<unknown> {
  try {
    return JSON.parse(await request.text());
  } catch {
    return undefined;
  }
}

function isInitialize(body: unknown): boolean {
  const one = (m: unknown) => !!m && typeof m === "object" && (m as { method?: unknown }).method === "initialize";
  return Array.isArray(body) ? body.some(one) : one(body);
}
