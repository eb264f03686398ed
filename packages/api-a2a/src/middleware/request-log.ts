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
    const log = lazyChild(logger, { requestId: c.get("requestId") });
    c.set("log", log);
    await next();
    const principal = c.get("principal");
    if (!infoEnabled(logger)) return;
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

/** A child logger created on first use: most requests log one line, so this saves a pino child each. */
export function lazyChild(logger: Logger, bindings: Record<string, unknown>): Logger {
  let child: Logger | undefined;
  const get = (): Logger => {
    child ??= logger.child(bindings);
    return child;
  };
  return {
    debug: (obj, msg) => get().debug(obj, msg),
    info: (obj, msg) => get().info(obj, msg),
    warn: (obj, msg) => get().warn(obj, msg),
    error: (obj, msg) => get().error(obj, msg),
    child: (more) => get().child(more),
  };
}

/** pino loggers say whether a level is on; other loggers are assumed to log everything. */
function infoEnabled(logger: Logger): boolean {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof check === "function" ? check.call(logger, "info") : true;
}
