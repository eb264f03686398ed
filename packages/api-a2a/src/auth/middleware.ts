import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.js";
import { UnauthenticatedError, toRpcError } from "../errors.js";
import { LOCAL_PRINCIPAL } from "../service/access.js";
import type { TokenVerifier } from "./verifier.js";

const ANONYMOUS = Object.freeze({ userId: null, admin: false, authenticated: false });

/** Paths anyone may read even when auth is on (docs/semantics.md#errors-and-auth). */
export const PUBLIC_PATHS = new Set(["/health", "/.well-known/agent-card.json", "/.well-known/agent.json"]);

/**
 * Sets `principal`: the local administrator when auth is off, else the token's user. A missing
 * or bad token is HTTP 401 with JSON-RPC code -32004 and a `WWW-Authenticate` challenge.
 */
export function authMiddleware(verify: TokenVerifier | null): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (!verify) {
      c.set("principal", LOCAL_PRINCIPAL);
      return next();
    }
    if (PUBLIC_PATHS.has(c.req.path) || c.req.method === "OPTIONS") {
      c.set("principal", ANONYMOUS);
      return next();
    }
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    try {
      if (!match) throw new UnauthenticatedError("missing bearer token");
      c.set("principal", await verify(match[1] as string));
    } catch (err) {
      const error = toRpcError(err instanceof UnauthenticatedError ? err : new UnauthenticatedError());
      c.header("WWW-Authenticate", 'Bearer realm="apflow"');
      return c.json({ jsonrpc: "2.0", id: null, error }, 401);
    }
    return next();
  };
}
