import { type ExecutorContext, type ExecutorDefinition, type JsonValue, OutboundRefused } from "@aipartnerupflow/core";
import { outboundPolicy, type RemoteConfig, type RemoteOptions, resolveRemoteConfig } from "../config.js";
import { fail, parseInputs, RemoteErrorCode, refuse } from "../errors.js";
import { createGuardedFetch, TooManyRedirects } from "../fetch.js";
import { checkHeaderNames } from "../headers.js";
import { reveal, type SecretValue } from "../secrets.js";
import { scrub } from "../util.js";
import { type HttpInputs, type HttpResult, httpInputSchema, httpResultSchema } from "./schema.js";

export const HTTP_EXECUTOR_ID = "http";

/** Bytes of a failed response's body kept in `details.bodyExcerpt`. */
export const BODY_EXCERPT_BYTES = 2048;

/** The `http` executor; configuration (`options`, then `APFLOW_OUTBOUND_ALLOW_HOSTS`) is read per run. */
export function createHttpExecutor(
  options?: RemoteOptions,
  env: Readonly<Record<string, string | undefined>> = process.env,
): ExecutorDefinition<HttpInputs, HttpResult> {
  return {
    id: HTTP_EXECUTOR_ID,
    name: "HTTP request",
    description:
      "Calls an HTTP API (GET, POST, PUT, PATCH, DELETE, HEAD) and returns status, headers and the body (JSON parsed). Internal addresses are refused unless the operator allows them.",
    tags: ["remote", "http", "api"],
    inputSchema: httpInputSchema,
    outputSchema: httpResultSchema,
    cancelable: true,
    demoResult: (inputs) => demoHttpResult(inputs),
    examples: [
      { description: "GET a JSON API", inputs: { url: "https://api.example.com/items", query: { limit: 10 } } },
      {
        description: "POST JSON with a bearer token from the request's secrets",
        inputs: {
          url: "https://api.example.com/items",
          method: "POST",
          json: { name: "widget" },
          auth: { type: "bearer", token: { secret: "example-token" } },
          okStatus: [200, 201],
        },
      },
    ],
    execute: (inputs, ctx) => executeHttp(inputs, ctx, resolveRemoteConfig(options, env)),
  };
}

export async function executeHttp(raw: unknown, ctx: ExecutorContext, config: RemoteConfig): Promise<HttpResult> {
  const inputs = parseInputs(httpInputSchema, raw);
  checkHeaderNames(inputs.headers, "inputs.headers");
  const revealed: string[] = [];
  const secret = (value: SecretValue, field: string): string => {
    const v = reveal(value, ctx.secrets, field);
    if (typeof value !== "string") revealed.push(v);
    return v;
  };

  let url: URL;
  try {
    url = new URL(inputs.url);
  } catch {
    throw refuse(RemoteErrorCode.InvalidInputs, `inputs.url is not a valid URL: ${inputs.url}`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw refuse(RemoteErrorCode.InvalidInputs, `inputs.url must be an http(s) URL (got ${url.protocol})`);
  }
  for (const [name, value] of Object.entries(inputs.query ?? {})) {
    for (const v of Array.isArray(value) ? value : [value]) url.searchParams.append(name, String(v));
  }
  const headers = new Headers();
  for (const [name, value] of Object.entries(inputs.headers ?? {})) {
    headers.set(name, secret(value, `inputs.headers.${name}`));
  }
  const auth = inputs.auth;
  if (auth?.type === "bearer") headers.set("authorization", `Bearer ${secret(auth.token, "inputs.auth.token")}`);
  if (auth?.type === "basic") {
    const pair = `${auth.username}:${secret(auth.password, "inputs.auth.password")}`;
    headers.set("authorization", `Basic ${Buffer.from(pair, "utf8").toString("base64")}`);
    revealed.push(Buffer.from(pair, "utf8").toString("base64"));
  }
  if (auth?.type === "apikey") {
    const value = secret(auth.value, "inputs.auth.value");
    if (auth.in === "query") url.searchParams.set(auth.name, value);
    else {
      checkHeaderNames({ [auth.name]: value }, "inputs.auth.name");
      headers.set(auth.name, value);
    }
  }
  let body: string | undefined;
  if (inputs.json !== undefined) {
    body = JSON.stringify(inputs.json);
    if (!headers.has("content-type")) headers.set("content-type", "application/json");
  } else if (inputs.body !== undefined) {
    body = inputs.body;
    if (!headers.has("content-type")) headers.set("content-type", "text/plain; charset=utf-8");
  }
  if (!headers.has("accept")) headers.set("accept", "application/json, text/plain;q=0.9, */*;q=0.8");
  if (!headers.has("accept-encoding")) headers.set("accept-encoding", "gzip, deflate, br");
  if (!headers.has("user-agent")) headers.set("user-agent", "aipartnerupflow-http");

  const timeoutMs = inputs.timeoutMs ?? config.http.defaultTimeoutMs;
  const maxBytes = Math.min(
    inputs.maxResponseBytes ?? config.http.defaultMaxResponseBytes,
    config.http.maxResponseBytes,
  );
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([ctx.signal, timeout]);
  const fetchImpl = createGuardedFetch({
    policy: outboundPolicy(config),
    maxRedirects: config.http.maxRedirects,
    what: "inputs.url",
  });
  const where = scrub(url.href, revealed);
  /** Throws the typed failure for an abort, a timeout, a refusal or a redirect loop; returns for anything else. */
  const rethrow = (err: unknown): void => {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (timeout.aborted) {
      throw fail(RemoteErrorCode.HttpTimeout, `${inputs.method} ${where} timed out after ${timeoutMs} ms`, {
        url: where,
        timeoutMs,
      });
    }
    if (err instanceof OutboundRefused) {
      throw refuse(RemoteErrorCode.OutboundRefused, scrub(err.message, revealed), {
        url: scrub(err.target ?? where, revealed),
      });
    }
    if (err instanceof TooManyRedirects) {
      throw refuse(RemoteErrorCode.HttpTooManyRedirects, scrub(err.message, revealed), { limit: err.limit });
    }
  };

  ctx.log.debug({ method: inputs.method, url: where, timeoutMs }, "http: request");
  let response: Response;
  try {
    response = await fetchImpl(url, {
      method: inputs.method,
      headers,
      signal,
      redirect: inputs.followRedirects ? "follow" : "manual",
      ...(body !== undefined ? { body } : {}),
    });
  } catch (err) {
    rethrow(err);
    // A connection error arrives as fetch's TypeError with the Node error as its cause; a DNS error as it is.
    const cause = ((err as { cause?: unknown }).cause ?? err) as { code?: string; message?: string };
    throw fail(
      RemoteErrorCode.HttpNetwork,
      `${inputs.method} ${where} failed: ${scrub(cause?.message ?? (err as Error).message, revealed)}`,
      { url: where, errno: cause?.code ?? null },
      err,
    );
  }

  const status = response.status;
  const responseHeaders: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    // Hop-by-hop headers describe the connection, not the response.
    if (!HOP_BY_HOP.has(name)) responseHeaders[name] = value;
  });
  const ok = inputs.okStatus ? inputs.okStatus.includes(status) : status >= 200 && status < 300;
  const finalUrl = scrub(response.url || url.href, revealed);

  let bytes: Buffer;
  try {
    bytes = await readBounded(response, ok ? maxBytes : BODY_EXCERPT_BYTES, ok);
  } catch (err) {
    if (err instanceof TooLarge) {
      throw refuse(
        RemoteErrorCode.HttpResponseTooLarge,
        `${inputs.method} ${where}: the response body is larger than maxResponseBytes (${maxBytes})`,
        { url: where, status, maxResponseBytes: maxBytes },
      );
    }
    rethrow(err);
    throw fail(
      RemoteErrorCode.HttpNetwork,
      `${inputs.method} ${where}: reading the response failed: ${(err as Error).message}`,
      {
        url: where,
        status,
      },
    );
  }

  if (!ok) {
    const excerpt = scrub(bytes.toString("utf8"), revealed);
    throw fail(
      RemoteErrorCode.HttpStatus,
      `${inputs.method} ${where} answered ${status}${response.statusText ? ` ${response.statusText}` : ""}`,
      {
        status,
        url: finalUrl,
        headers: responseHeaders,
        bodyExcerpt: excerpt,
      },
    );
  }
  const decoded = decodeBody(bytes, responseHeaders["content-type"], inputs.method);
  if (decoded === INVALID_JSON) {
    throw fail(
      RemoteErrorCode.HttpInvalidJson,
      `${inputs.method} ${where}: the response says JSON but does not parse`,
      {
        status,
        url: finalUrl,
        bodyExcerpt: bytes.subarray(0, BODY_EXCERPT_BYTES).toString("utf8"),
      },
    );
  }
  return { status, headers: responseHeaders, body: decoded.body, bodyEncoding: decoded.encoding, url: finalUrl };
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "te",
  "trailer",
  "upgrade",
  "proxy-connection",
]);

class TooLarge extends Error {}

/** The body, at most `limit` bytes: beyond it a `TooLarge` (strict) or the first `limit` bytes (excerpt). */
async function readBounded(response: Response, limit: number, strict: boolean): Promise<Buffer> {
  if (!response.body) return Buffer.alloc(0);
  const declared = Number(response.headers.get("content-length"));
  if (strict && Number.isFinite(declared) && declared > limit) {
    await response.body.cancel().catch(() => undefined);
    throw new TooLarge();
  }
  const reader = response.body.getReader();
  const chunks: Buffer[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      if (strict) throw new TooLarge();
      chunks.push(Buffer.from(value.subarray(0, value.byteLength - (size - limit))));
      break;
    }
    chunks.push(Buffer.from(value));
  }
  return Buffer.concat(chunks);
}

const INVALID_JSON = Symbol("invalid json");

function decodeBody(
  bytes: Buffer,
  contentType: string | undefined,
  method: string,
): { body: JsonValue; encoding: HttpResult["bodyEncoding"] } | typeof INVALID_JSON {
  if (method === "HEAD" || bytes.length === 0) return { body: null, encoding: "none" };
  const type = (contentType ?? "").toLowerCase();
  const mime = type.split(";")[0]?.trim() ?? "";
  if (mime === "application/json" || mime.endsWith("+json")) {
    try {
      return { body: JSON.parse(bytes.toString("utf8")) as JsonValue, encoding: "json" };
    } catch {
      return INVALID_JSON;
    }
  }
  const textual =
    mime === "" ||
    mime.startsWith("text/") ||
    mime.endsWith("+xml") ||
    ["application/xml", "application/javascript", "application/x-www-form-urlencoded", "application/yaml"].includes(
      mime,
    );
  if (textual) return { body: bytes.toString("utf8"), encoding: "text" };
  return { body: bytes.toString("base64"), encoding: "base64" };
}

/** What demo mode returns: a 200 that names the request it stands for. */
export function demoHttpResult(inputs: Partial<HttpInputs> | undefined): HttpResult {
  const url = typeof inputs?.url === "string" ? inputs.url : "https://api.example.com/";
  return {
    status: 200,
    headers: { "content-type": "application/json" },
    body: { demo: true, method: inputs?.method ?? "GET", url },
    bodyEncoding: "json",
    url,
  };
}
