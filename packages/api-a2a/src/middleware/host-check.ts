import { isIP } from "node:net";
import { ErrorCode } from "@aipartnerupflow/core";
import type { Context, MiddlewareHandler } from "hono";
import type { AppEnv } from "../env.js";

/**
 * DNS rebinding protection. A page on `evil.example` whose name the attacker re-points at
 * 127.0.0.1 makes the victim's browser send requests to a server listening on loopback; they
 * carry `Host: evil.example` (and an `Origin` of that site). On a connection that arrived on a
 * loopback address, or whenever the operator listed the names clients use, a request is answered
 * only when its `Host` (and its `Origin`, when it has one) names a loopback host
 * (`localhost`, `127.0.0.1`, `[::1]`, any port), an allowed host or a CORS origin; anything else is
 * refused with 403 before any route runs.
 */
export interface HostCheckOptions {
  /**
   * Host names (`name` or `name:port`) clients use besides loopback names; `*` turns the check
   * off. Without names the check applies on loopback connections only.
   */
  allowedHosts: readonly string[];
  /** Origins the CORS configuration allows: browsers on them may call the server. */
  corsOrigins: readonly string[];
}

const LOOPBACK_NAMES = new Set(["localhost", "127.0.0.1", "::1", "[::1]"]);

/** Whether a host name (no port) is a loopback name or address. */
export function isLoopbackHost(name: string): boolean {
  const host = name.toLowerCase().replace(/\.$/, "");
  if (LOOPBACK_NAMES.has(host) || host.endsWith(".localhost")) return true;
  const bare = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1" || /^::ffff:127\./.test(bare);
  return false;
}

/** `name[:port]` of a Host header or a URL authority → lower-case name and port ("" when absent). */
export function splitHost(value: string): { name: string; port: string } | null {
  const v = value.trim().toLowerCase();
  if (v.length === 0 || /[\s/@?#]/.test(v)) return null;
  if (v.startsWith("[")) {
    const end = v.indexOf("]");
    if (end < 0) return null;
    const rest = v.slice(end + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return null;
    return { name: v.slice(0, end + 1), port: rest.slice(1) };
  }
  const colon = v.lastIndexOf(":");
  if (colon < 0) return { name: v, port: "" };
  const port = v.slice(colon + 1);
  if (!/^\d{1,5}$/.test(port) || v.indexOf(":") !== colon) return null;
  return { name: v.slice(0, colon), port };
}

export class HostPolicy {
  private readonly names = new Set<string>();
  private readonly authorities = new Set<string>();
  private readonly origins: Set<string>;
  readonly off: boolean;

  constructor(options: HostCheckOptions) {
    this.off = options.allowedHosts.includes("*");
    for (const entry of options.allowedHosts) {
      if (entry === "*") continue;
      const parsed = splitHost(entry);
      if (!parsed) throw new Error(`allowed host is not a host name or host:port: ${JSON.stringify(entry)}`);
      if (parsed.port) this.authorities.add(`${parsed.name}:${parsed.port}`);
      else this.names.add(parsed.name);
    }
    this.origins = new Set(options.corsOrigins.map((o) => o.replace(/\/+$/, "").toLowerCase()));
  }

  /** Whether the operator listed any names (then every connection is checked). */
  get listed(): boolean {
    return this.names.size > 0 || this.authorities.size > 0;
  }

  /** Whether `name[:port]` is loopback or allowed. */
  hostAllowed(value: string): boolean {
    const parsed = splitHost(value);
    if (!parsed) return false;
    if (isLoopbackHost(parsed.name)) return true;
    return this.names.has(parsed.name) || this.authorities.has(`${parsed.name}:${parsed.port}`);
  }

  /** Whether an `Origin` header value is a CORS origin or an http(s) origin on an allowed host. */
  originAllowed(origin: string): boolean {
    const o = origin.trim().toLowerCase();
    if (this.origins.has(o) || this.origins.has("*")) return true;
    let url: URL;
    try {
      url = new URL(o);
    } catch {
      return false;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return false;
    return this.hostAllowed(url.host);
  }
}

/** The local address a request arrived on (Node server), or undefined elsewhere (tests' `app.request`). */
function localAddress(c: Context<AppEnv>): string | undefined {
  const env = c.env as { incoming?: { socket?: { localAddress?: string } } } | undefined;
  return env?.incoming?.socket?.localAddress;
}

function refuse(c: Context<AppEnv>, what: string) {
  const message = `${what} is not allowed: this server answers requests for localhost and its allowed hosts only (set allowedHosts / APFLOW_ALLOWED_HOSTS)`;
  return c.json({ jsonrpc: "2.0", id: null, error: { code: ErrorCode.InvalidRequest, message } }, 403);
}

export function hostCheck(options: HostCheckOptions): MiddlewareHandler<AppEnv> {
  const policy = new HostPolicy(options);
  return async (c, next) => {
    if (policy.off) return next();
    const local = localAddress(c);
    const applies = policy.listed || local === undefined || isLoopbackHost(local);
    if (!applies) return next();
    const host = c.req.header("host");
    if (host !== undefined && !policy.hostAllowed(host)) return refuse(c, `Host ${JSON.stringify(host)}`);
    const origin = c.req.header("origin");
    if (origin !== undefined && !policy.originAllowed(origin)) return refuse(c, `Origin ${JSON.stringify(origin)}`);
    return next();
  };
}
