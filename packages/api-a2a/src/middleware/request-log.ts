import type { Logger } from "@aipartnerupflow/core";
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.js";
import { primitiveRecordLogger } from "../logger.js";

/**
 * A child logger per request (bound to its request id, created only if something logs through
 * it) and one access line at info when it ends: request id, method, path, status, duration and
 * user. Headers and bodies are never logged.
 */
export function requestLog(logger: Logger): MiddlewareHandler<AppEnv> {
  // The access line has fixed keys and primitive values, so redaction can never change it; for
  // our own pino loggers it skips the redaction pass (other loggers get the line as before).
  const access = primitiveRecordLogger(logger);
  const direct = access !== logger;
  return async (c, next) => {
    const started = performance.now();
    const requestId = c.get("requestId");
    const log = new LazyChild(logger, { requestId });
    c.set("log", log);
    await next();
    if (!infoEnabled(logger)) return;
    const principal = c.get("principal");
    const method = c.req.method;
    const path = c.req.path;
    const status = c.res.status;
    const ms = Math.round((performance.now() - started) * 10) / 10;
    const userId = principal?.userId ?? null;
    if (direct) {
      // The same JSON line a child bound to the request id writes (its bindings come first).
      access.info({ requestId, method, path, status, ms, userId }, "request");
    } else {
      log.info({ method, path, status, ms, userId }, "request");
    }
  };
}

/** A child logger created on first use: most requests never log through it, so this saves a pino child each. */
export function lazyChild(logger: Logger, bindings: Record<string, unknown>): Logger {
  return new LazyChild(logger, bindings);
}

class LazyChild implements Logger {
  private made: Logger | undefined;

  constructor(
    private readonly parent: Logger,
    private readonly bindings: Record<string, unknown>,
  ) {}

  private get(): Logger {
    this.made ??= this.parent.child(this.bindings);
    return this.made;
  }

  debug(obj: Parameters<Logger["debug"]>[0], msg?: string): void {
    this.get().debug(obj, msg);
  }
  info(obj: Parameters<Logger["info"]>[0], msg?: string): void {
    this.get().info(obj, msg);
  }
  warn(obj: Parameters<Logger["warn"]>[0], msg?: string): void {
    this.get().warn(obj, msg);
  }
  error(obj: Parameters<Logger["error"]>[0], msg?: string): void {
    this.get().error(obj, msg);
  }
  child(bindings: Record<string, unknown>): Logger {
    return this.get().child(bindings);
  }
}

/** pino loggers say whether a level is on; other loggers are assumed to log everything. */
function infoEnabled(logger: Logger): boolean {
  const check = (logger as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled;
  return typeof check === "function" ? check.call(logger, "info") : true;
}
