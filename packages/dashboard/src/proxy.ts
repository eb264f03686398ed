import { Hono } from "hono";

/** Request headers a proxy must not pass on (hop-by-hop, or about this connection). */
const DROP = new Set([
  "host",
  "connection",
  "keep-alive",
  "transfer-encoding",
  "upgrade",
  "proxy-authorization",
  "proxy-connection",
  "te",
  "trailer",
  "content-length",
  "origin",
  "referer",
  "cookie",
]);

/**
 * Forwards the API paths the dashboard uses (`/tasks`, `/tasks/methods`, `/health`, the agent
 * card that says whether auth is on) to a remote
 * server, streams included, so `apflow ui --server URL` serves the page locally against any node
 * without CORS. The page's own Authorization header goes through; nothing is added.
 */
export function createApiProxy(target: string, fetcher: typeof fetch = fetch): Hono {
  let base: URL;
  try {
    base = new URL(target);
  } catch {
    throw new TypeError(`proxy target must be an http(s) URL, got "${target}"`);
  }
  if (base.protocol !== "http:" && base.protocol !== "https:") {
    throw new TypeError(`proxy target must be an http(s) URL, got "${target}"`);
  }
  const prefix = base.pathname.replace(/\/+$/, "");
  const app = new Hono();
  const forward = async (request: Request, path: string): Promise<Response> => {
    const headers = new Headers();
    request.headers.forEach((value, key) => {
      if (!DROP.has(key.toLowerCase())) headers.set(key, value);
    });
    const url = new URL(`${prefix}${path}`, base);
    url.search = new URL(request.url).search;
    let response: Response;
    try {
      response = await fetcher(url, {
        method: request.method,
        headers,
        ...(request.method === "GET" || request.method === "HEAD" ? {} : { body: await request.arrayBuffer() }),
        signal: request.signal,
      });
    } catch (err) {
      return Response.json(
        {
          jsonrpc: "2.0",
          id: null,
          error: { code: -32603, message: `cannot reach ${base.origin}: ${(err as Error).message}` },
        },
        { status: 502 },
      );
    }
    const out = new Headers();
    response.headers.forEach((value, key) => {
      if (!["content-length", "content-encoding", "transfer-encoding", "connection"].includes(key)) out.set(key, value);
    });
    return new Response(response.body, { status: response.status, headers: out });
  };
  app.post("/tasks", (c) => forward(c.req.raw, "/tasks"));
  app.get("/tasks/methods", (c) => forward(c.req.raw, "/tasks/methods"));
  app.get("/health", (c) => forward(c.req.raw, "/health"));
  app.get("/.well-known/agent-card.json", (c) => forward(c.req.raw, "/.well-known/agent-card.json"));
  return app;
}
