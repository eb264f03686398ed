import { lookup as dnsLookup } from "node:dns/promises";
import { BlockList, type LookupFunction, isIP } from "node:net";

/**
 * Outbound requests to caller-chosen URLs (webhooks, push notifications, the HTTP, A2A and MCP
 * executors) must not reach the server's own network: loopback, link-local (cloud metadata),
 * private, ULA, unspecified, multicast and other special-purpose addresses are refused unless the
 * operator allow-listed the host. The check runs after DNS resolution and the connection then goes
 * to the address that was checked (`pinnedLookup`), so a name cannot rebind in between.
 *
 * This module decides; it sends nothing (core has no HTTP client). Callers connect with
 * `node:http`/`node:https` and pass `pinnedLookup(addresses)` as the `lookup` option.
 */

const internal = new BlockList();
for (const [net, prefix] of [
  ["0.0.0.0", 8], // "this network", unspecified
  ["10.0.0.0", 8],
  ["100.64.0.0", 10], // carrier-grade NAT
  ["127.0.0.0", 8],
  ["169.254.0.0", 16], // link-local, cloud metadata
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 4], // multicast
  ["240.0.0.0", 4], // reserved, broadcast
] as const)
  internal.addSubnet(net, prefix, "ipv4");
for (const [net, prefix] of [
  ["::", 96], // unspecified, loopback, IPv4-compatible
  ["64:ff9b::", 96], // NAT64 (embeds an IPv4 address)
  ["64:ff9b:1::", 48],
  ["fc00::", 7], // unique local
  ["fe80::", 10], // link-local
  ["fec0::", 10], // site-local (deprecated)
  ["ff00::", 8], // multicast
] as const)
  internal.addSubnet(net, prefix, "ipv6");

/** Whether an IP address (v4 or v6, brackets allowed) is one an outbound request must not reach. */
export function isInternalAddress(address: string): boolean {
  const ip = address.replace(/^\[|\]$/g, "");
  const family = isIP(ip);
  if (family === 4) return internal.check(ip, "ipv4");
  if (family !== 6) return true;
  const mapped = mappedIPv4(ip);
  if (mapped) return internal.check(mapped, "ipv4");
  return internal.check(ip, "ipv6");
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:a.b.c.d` or `::ffff:xxxx:xxxx`). */
function mappedIPv4(ip: string): string | undefined {
  const m = /^(?:(?:0{1,4}:){5}|::)ffff:(.+)$/i.exec(ip);
  if (!m?.[1]) return undefined;
  const rest = m[1];
  if (isIP(rest) === 4) return rest;
  const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(rest);
  if (!hex?.[1] || !hex[2]) return undefined;
  const hi = Number.parseInt(hex[1], 16);
  const lo = Number.parseInt(hex[2], 16);
  return `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;
}

/** Header names a caller may not set on a webhook: hop-by-hop, framing, and credentials of this hop. */
export function isForbiddenHeader(name: string): boolean {
  const n = name.toLowerCase();
  return (
    FORBIDDEN_HEADERS.has(n) || n.startsWith("proxy-") || n.startsWith("sec-") || !/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(n)
  );
}

const FORBIDDEN_HEADERS = new Set([
  "host",
  "connection",
  "keep-alive",
  "content-length",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "expect",
  "cookie",
  "cookie2",
  "set-cookie",
]);

/** The `task.error.code` of a refused outbound request. */
export const OUTBOUND_REFUSED = "OUTBOUND_REFUSED";

/** A refused outbound URL; the message names the problem and is safe to show the caller. */
export class OutboundRefused extends Error {
  override name = "OutboundRefused";
  readonly code = OUTBOUND_REFUSED;
  /** The URL (or host) that was refused. */
  readonly target: string | undefined;

  constructor(message: string, target?: string) {
    super(message);
    this.target = target;
  }
}

/** One entry of an allow-list: a host name or IP, optionally with a port (any port when absent). */
export interface AllowEntry {
  host: string;
  port: number | undefined;
}

/** A checked address to connect to. */
export interface ResolvedAddress {
  address: string;
  family: number;
}

export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

const defaultResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

export interface OutboundPolicyOptions {
  /** Host names (or `host:port`, `[v6]:port`) that may be reached even when internal. */
  allowHosts?: readonly string[];
  /** DNS resolution (tests). */
  resolve?: Resolver;
}

/**
 * Parse a comma-separated allow-list (`APFLOW_OUTBOUND_ALLOW_HOSTS`, `APFLOW_WEBHOOK_ALLOW_HOSTS`):
 * `host`, `host:port`, `[v6]` or `[v6]:port`; blanks are dropped.
 */
export function parseHostList(raw: string | undefined): string[] {
  return (raw ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** One allow-list entry, lower-cased; `undefined` for an entry that is not `host[:port]`. */
export function parseAllowEntry(raw: string): AllowEntry | undefined {
  const entry = raw.trim().toLowerCase();
  if (!entry) return undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (v6?.[1]) return { host: v6[1], port: v6[2] ? Number(v6[2]) : undefined };
  if (isIP(entry) === 6) return { host: entry, port: undefined };
  const m = /^([^:/\s]+)(?::(\d+))?$/.exec(entry);
  if (!m?.[1]) return undefined;
  return { host: m[1], port: m[2] ? Number(m[2]) : undefined };
}

/** The port a URL connects to (its explicit port, else 443 for https and 80 otherwise). */
export function effectivePort(url: URL): number {
  if (url.port) return Number(url.port);
  return url.protocol === "https:" ? 443 : 80;
}

/** Whether `url`'s host (and port) is on an allow-list of parsed entries. */
export function hostAllowed(url: URL, allow: readonly AllowEntry[]): boolean {
  const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = effectivePort(url);
  return allow.some((e) => e.host === host && (e.port === undefined || e.port === port));
}

/**
 * Decides whether an outbound URL may be reached and which addresses to connect to. One policy
 * holds one allow-list; it is cheap to build (per request is fine).
 */
export class OutboundPolicy {
  private readonly allow: AllowEntry[];
  private readonly resolver: Resolver;

  constructor(options: OutboundPolicyOptions = {}) {
    this.allow = (options.allowHosts ?? []).map(parseAllowEntry).filter((e): e is AllowEntry => e !== undefined);
    this.resolver = options.resolve ?? defaultResolver;
  }

  /** Whether the operator allow-listed this URL's host (and port). */
  allowed(url: URL): boolean {
    return hostAllowed(url, this.allow);
  }

  /**
   * The problem with a URL before it is accepted, or `undefined`: not http(s), an internal
   * address literal or `localhost`, or a name that resolves to an internal address. A name that
   * does not resolve now is accepted (delivery resolves again and refuses it then).
   */
  async problem(raw: string, what = "url"): Promise<string | undefined> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      return `${what} is not a valid URL`;
    }
    if (url.protocol !== "http:" && url.protocol !== "https:") return `${what} must be an http(s) URL`;
    try {
      await this.addresses(url, what);
    } catch (err) {
      if (err instanceof OutboundRefused) return err.message;
    }
    return undefined;
  }

  /**
   * The addresses to connect to, all checked; `undefined` when the host is allow-listed (normal
   * resolution). Throws `OutboundRefused` for a URL that is not http(s) or whose host is (or
   * resolves to) an internal address; DNS errors propagate as they are.
   */
  async addresses(url: URL, what = "url"): Promise<ResolvedAddress[] | undefined> {
    if (url.protocol !== "http:" && url.protocol !== "https:") {
      throw new OutboundRefused(`${what} must be an http(s) URL (got ${url.protocol})`, url.href);
    }
    if (this.allowed(url)) return undefined;
    const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase();
    const refuse = (resolved?: string) =>
      new OutboundRefused(
        `${what} host ${url.hostname}${resolved ? ` (resolves to ${resolved})` : ""} is an internal address (loopback, link-local, private, multicast or unspecified); an operator can allow it`,
        url.href,
      );
    const family = isIP(host);
    if (family !== 0) {
      if (isInternalAddress(host)) throw refuse();
      return [{ address: host, family }];
    }
    const bare = host.endsWith(".") ? host.slice(0, -1) : host;
    if (bare === "localhost" || bare.endsWith(".localhost")) throw refuse();
    const found = await this.resolver(host);
    const bad = found.find((a) => isInternalAddress(a.address));
    if (bad) throw refuse(bad.address);
    if (found.length === 0) throw refuse("nothing");
    return found;
  }
}

/**
 * A `lookup` for `node:http`/`node:https`/`node:net` that answers only with the given, already
 * checked addresses: the connection cannot go anywhere the policy did not see.
 */
export function pinnedLookup(pinned: readonly ResolvedAddress[]): LookupFunction {
  return (_hostname, options, callback) => {
    const wanted = options.family === 4 || options.family === 6 ? options.family : undefined;
    const list = pinned.filter((a) => wanted === undefined || a.family === wanted);
    if (list.length === 0) {
      callback(Object.assign(new Error("no checked address"), { code: "ENOTFOUND" }), "", 4);
    } else if (options.all) {
      (callback as unknown as (err: null, all: ResolvedAddress[]) => void)(null, list);
    } else {
      const first = list[0] as ResolvedAddress;
      callback(null, first.address, first.family);
    }
  };
}
