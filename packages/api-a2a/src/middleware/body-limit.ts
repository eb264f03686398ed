import type { Context, MiddlewareHandler } from "hono";
import { bodyLimit as honoBodyLimit } from "hono/body-limit";
import type { AppEnv } from "../env.js";

/**
 * Hono's `bodyLimit` with the same rules, minus its cost on the common path. Hono's middleware
 * reads `c.req.raw.body` first, which under `@hono/node-server` turns the lightweight request into
 * a full WHATWG `Request` (stream, abort signal, header copy) on every POST. Here requests without
 * a body (GET, HEAD) pass at once, and a declared `Content-Length` (without `Transfer-Encoding`) is
 * checked from the header alone, exactly as Hono does; only bodies of unknown length (chunked) go
 * through Hono's middleware, which counts the bytes as they stream in.
 */
export function bodyLimit(
  maxSize: number,
  onError: (c: Context<AppEnv>) => Response | Promise<Response>,
): MiddlewareHandler<AppEnv> {
  const counting = honoBodyLimit({ maxSize, onError });
  return async (c, next) => {
    const method = c.req.method;
    // A GET or HEAD request never has a body (node-server gives it none, fetch forbids one).
    if (method === "GET" || method === "HEAD") return next();
    // Outside node-server a Request knows cheaply whether it has a body; under node-server every
    // other method has one (possibly empty), as Hono's own check would find.
    if (!nodeIncoming(c) && !c.req.raw.body) return next();
    const headers = c.req.raw.headers;
    if (!headers.has("transfer-encoding")) {
      const length = headers.get("content-length");
      if (length !== null) return Number.parseInt(length || "0", 10) > maxSize ? onError(c) : next();
    }
    return counting(c, next);
  };
}

/** Whether the request came through @hono/node-server (which passes `{ incoming, outgoing }`). */
function nodeIncoming(c: Context<AppEnv>): boolean {
  const env = c.env as { incoming?: unknown } | undefined;
  return typeof env === "object" && env !== null && env.incoming !== undefined;
}
