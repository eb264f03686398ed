import { type IncomingMessage, request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { Readable } from "node:stream";
import { createBrotliDecompress, createGunzip, createInflate } from "node:zlib";
import { type OutboundPolicy, OutboundRefused, pinnedLookup } from "@aipartnerupflow/core";

/** Too many redirects in a row (`maxRedirects`). */
export class TooManyRedirects extends Error {
  override name = "TooManyRedirects";
  constructor(
    readonly limit: number,
    readonly url: string,
  ) {
    super(`more than ${limit} redirects (last to ${url})`);
  }
}

export interface GuardedFetchOptions {
  policy: OutboundPolicy;
  /** Redirects followed when `init.redirect` is `"follow"` (the default). Default 5. */
  maxRedirects?: number;
  /** Names the destination in refusals ("url", "agent url", ...). */
  what?: string;
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
const NULL_BODY = new Set([101, 204, 205, 304]);
/** Request headers not carried to another origin on a redirect. */
const CREDENTIAL_HEADERS = ["authorization", "cookie", "proxy-authorization"];

/**
 * A `fetch` that connects only where the outbound policy allows: every URL (the first and every
 * redirect target) is checked after DNS resolution and the socket goes to the checked address.
 * Used by the `http` executor and handed to the A2A and MCP SDK clients as their `fetch`.
 *
 * Refusals reject with core's `OutboundRefused`; too many redirects with `TooManyRedirects`;
 * network errors with a `TypeError("fetch failed: ...")` whose `cause` is the Node error (as
 * fetch does); an abort with the signal's reason. Response bodies stream (SSE works).
 */
export function createGuardedFetch(options: GuardedFetchOptions): typeof fetch {
  const maxRedirects = options.maxRedirects ?? 5;
  const what = options.what ?? "url";
  const guarded = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const signal = request.signal;
    signal.throwIfAborted();
    let body: Buffer | undefined = request.body === null ? undefined : Buffer.from(await request.arrayBuffer());
    let method = request.method;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    let url = new URL(request.url);
    for (let hop = 0; ; hop++) {
      const pinned = await options.policy.addresses(url, hop === 0 ? what : `${what} (redirect)`);
      signal.throwIfAborted();
      const res = await send(url, method, headers, body, signal, pinned);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (REDIRECTS.has(status) && location && request.redirect !== "manual") {
        res.resume();
        const next = new URL(location, url);
        if (request.redirect === "error") throw new TypeError(`fetch failed: redirect to ${next.href} refused`);
        if (hop >= maxRedirects) throw new TooManyRedirects(maxRedirects, next.href);
        if (status === 303 || ((status === 301 || status === 302) && method === "POST")) {
          if (method !== "HEAD") method = "GET";
          body = undefined;
          delete headers["content-type"];
          delete headers["content-length"];
        }
        if (next.origin !== url.origin) for (const h of CREDENTIAL_HEADERS) delete headers[h];
        url = next;
        continue;
      }
      return toResponse(res, url, method, hop > 0, signal);
    }
  };
  return guarded as typeof fetch;
}

function send(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: Buffer | undefined,
  signal: AbortSignal,
  pinned: Awaited<ReturnType<OutboundPolicy["addresses"]>>,
): Promise<IncomingMessage> {
  const request = url.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = request(
      url,
      {
        method,
        headers: body ? { ...headers, "content-length": String(body.length) } : headers,
        signal,
        ...(pinned ? { lookup: pinnedLookup(pinned) } : {}),
      },
      resolve,
    );
    req.on("error", (err) => {
      if (signal.aborted) reject(signal.reason);
      else if (err instanceof OutboundRefused) reject(err);
      else reject(new TypeError(`fetch failed: ${err.message}`, { cause: err }));
    });
    req.end(body);
  });
}

function toResponse(
  res: IncomingMessage,
  url: URL,
  method: string,
  redirected: boolean,
  signal: AbortSignal,
): Response {
  const status = res.statusCode ?? 0;
  const headers = new Headers();
  const raw = res.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) headers.append(raw[i] as string, raw[i + 1] as string);
  let stream: Readable = res;
  const encoding = (res.headers["content-encoding"] ?? "").toLowerCase().trim();
  const decoder =
    encoding === "gzip" || encoding === "x-gzip"
      ? createGunzip()
      : encoding === "deflate"
        ? createInflate()
        : encoding === "br"
          ? createBrotliDecompress()
          : undefined;
  if (decoder) {
    res.on("error", (err) => decoder.destroy(err));
    stream = res.pipe(decoder);
    headers.delete("content-encoding");
    headers.delete("content-length");
  }
  const nullBody = method === "HEAD" || NULL_BODY.has(status);
  if (nullBody) res.resume();
  const onAbort = () => stream.destroy(signal.reason instanceof Error ? signal.reason : new Error("aborted"));
  signal.addEventListener("abort", onAbort, { once: true });
  stream.on("close", () => signal.removeEventListener("abort", onAbort));
  const response = new Response(nullBody ? null : (Readable.toWeb(stream) as ReadableStream<Uint8Array>), {
    status: status < 200 || status > 599 ? 502 : status,
    statusText: res.statusMessage ?? "",
    headers,
  });
  Object.defineProperty(response, "url", { value: url.href });
  Object.defineProperty(response, "redirected", { value: redirected });
  return response;
}
