import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { OutboundPolicy, OutboundRefused, type Resolver, pinnedLookup } from "@aipartnerupflow/core";

/**
 * Webhook and push-notification delivery through core's outbound policy (`OutboundPolicy`):
 * loopback, link-local, private and other special-purpose addresses are refused unless the
 * operator allow-listed the host; URLs are checked when accepted and again at delivery, after DNS
 * resolution, and the connection goes to the checked address.
 */
export { isForbiddenHeader, isInternalAddress, OutboundRefused, type Resolver } from "@aipartnerupflow/core";

export interface OutboundOptions {
  /** Host names (or `host:port`, `[v6]:port`) that may be reached even when internal. */
  allowHosts?: string[];
  /** DNS resolution (tests). */
  resolve?: Resolver;
}

export interface OutboundResponse {
  status: number;
}

/** Checks and performs outbound POSTs to caller-chosen URLs. */
export class OutboundGuard {
  private readonly policy: OutboundPolicy;

  constructor(options: OutboundOptions = {}) {
    this.policy = new OutboundPolicy({
      allowHosts: options.allowHosts ?? [],
      ...(options.resolve ? { resolve: options.resolve } : {}),
    });
  }

  /** Whether the operator allow-listed this URL's host (and port). */
  allowed(url: URL): boolean {
    return this.policy.allowed(url);
  }

  /** The problem with a URL before it is accepted, or `undefined` (see `OutboundPolicy.problem`). */
  problem(raw: string, what = "webhook url"): Promise<string | undefined> {
    return this.policy.problem(raw, what);
  }

  /**
   * POST `body` to `raw`, connecting only to checked addresses. Resolves with the status (the
   * response body is discarded); rejects on a refused URL, a network error, a timeout or an abort.
   * Redirects are not followed.
   */
  async post(
    raw: string,
    init: { headers: Record<string, string>; body: string; timeoutMs: number; signal?: AbortSignal },
  ): Promise<OutboundResponse> {
    const url = new URL(raw);
    if (url.protocol !== "http:" && url.protocol !== "https:") throw new OutboundRefused("not an http(s) URL");
    const pinned = await this.policy.addresses(url, "url");
    const signals = [AbortSignal.timeout(init.timeoutMs), ...(init.signal ? [init.signal] : [])];
    const signal = AbortSignal.any(signals);
    signal.throwIfAborted();
    const send = url.protocol === "https:" ? httpsRequest : httpRequest;
    const body = Buffer.from(init.body, "utf8");
    return new Promise<OutboundResponse>((resolve, reject) => {
      const req = send(
        url,
        {
          method: "POST",
          headers: { ...init.headers, "content-length": String(body.length) },
          signal,
          ...(pinned ? { lookup: pinnedLookup(pinned) } : {}),
        },
        (res) => {
          res.on("error", reject);
          res.on("end", () => resolve({ status: res.statusCode ?? 0 }));
          res.resume();
        },
      );
      req.on("error", reject);
      req.end(body);
    });
  }
}
