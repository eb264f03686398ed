import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.js";
import { RATE_LIMITED } from "../errors.js";
import type { RateLimitOptions } from "../types.js";

interface Bucket {
  tokens: number;
  at: number;
}

/**
 * Token buckets keyed by a string: `burst` tokens at most, refilled at `perSecond`. Buckets that
 * are full again are forgotten, so memory follows the number of active callers.
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  private lastSweep = 0;

  constructor(
    private readonly options: RateLimitOptions,
    private readonly now: () => number = Date.now,
  ) {
    if (!(options.burst >= 1) || !(options.perSecond > 0))
      throw new Error("rate limit needs burst >= 1 and perSecond > 0");
  }

  /** Take one token; returns 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    const b = this.refill(key);
    if (b.tokens >= 1) {
      b.tokens -= 1;
      return 0;
    }
    return (1 - b.tokens) / this.options.perSecond;
  }

  /** Like `take` without taking: 0 when a token is there, else the seconds to wait. */
  peek(key: string): number {
    const b = this.refill(key);
    return b.tokens >= 1 ? 0 : (1 - b.tokens) / this.options.perSecond;
  }

  private refill(key: string): Bucket {
    const now = this.now();
    this.sweep(now);
    const b = this.buckets.get(key) ?? { tokens: this.options.burst, at: now };
    b.tokens = Math.min(this.options.burst, b.tokens + ((now - b.at) / 1000) * this.options.perSecond);
    b.at = now;
    this.buckets.set(key, b);
    return b;
  }

  private sweep(now: number): void {
    if (now - this.lastSweep < 60_000) return;
    this.lastSweep = now;
    const refillMs = (this.options.burst / this.options.perSecond) * 1000;
    for (const [key, b] of this.buckets) if (now - b.at > refillMs) this.buckets.delete(key);
  }
}

function limited(c: Parameters<MiddlewareHandler<AppEnv>>[0], wait: number) {
  c.header("Retry-After", String(Math.max(1, Math.ceil(wait))));
  return c.json({ jsonrpc: "2.0", id: null, error: { code: RATE_LIMITED, message: "rate limit exceeded" } }, 429);
}

/**
 * Before auth: every request that fails authentication (HTTP 401) takes a token from its IP's
 * bucket, and an IP whose bucket is empty gets 429 before its token is even looked at. So
 * guessing tokens is limited per IP, while users who authenticate are limited per user (below)
 * and not by others behind the same address.
 */
export function authFailureLimit(
  options: RateLimitOptions,
  ipOf: (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => string,
): MiddlewareHandler<AppEnv> {
  const buckets = new TokenBuckets(options);
  return async (c, next) => {
    const key = `ip:${ipOf(c)}`;
    const wait = buckets.peek(key);
    if (wait > 0) return limited(c, wait);
    await next();
    if (c.res.status === 401) buckets.take(key);
  };
}

/** 429 with `Retry-After` once a caller (its user id, else its IP) empties its bucket. */
export function rateLimit(
  options: RateLimitOptions,
  ipOf: (c: Parameters<MiddlewareHandler<AppEnv>>[0]) => string,
): MiddlewareHandler<AppEnv> {
  const buckets = new TokenBuckets(options);
  return async (c, next) => {
    const principal = c.get("principal");
    const key = principal?.authenticated && principal.userId ? `user:${principal.userId}` : `ip:${ipOf(c)}`;
    const wait = buckets.take(key);
    if (wait > 0) return limited(c, wait);
    return next();
  };
}
