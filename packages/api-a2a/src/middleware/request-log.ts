import type { Logger } from "@aipartnerupflow/core";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.js";

/**
 * A child logger per request (bound to its request id) and one access line when it ends:
 * method, path, status, duration and user. Headers and bodies are never logged.
 */
export function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now();
    const log = logger.child({ requestId: c.get("requestId") });
    c.set("log", log);
    await next();
    const principal = c.get("principal");
    log.info(
      {
        method: c.req.method,
        path: c.req.path,
        status: c.res.status,
        ms: Math.round((performance.now() - started) * 10) / 10,
        userId: principal?.userId ?? null,
      },
      "request",
    );
  };
}
