import { SseParser } from "./sse.js";
import type { TokenStore } from "./token.js";
import type { TaskEvent } from "./types.js";

/** A JSON-RPC error answered by the server (bad params, not found, forbidden…). */
export class RpcError extends Error {
  override name = "RpcError";
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

/** The server wants a bearer token (none was sent, or the one sent was refused). */
export class AuthRequiredError extends Error {
  override name = "AuthRequiredError";
  constructor(readonly hadToken: boolean) {
    super(hadToken ? "the server refused the token" : "the server needs a bearer token");
  }
}

/** The server could not be reached, or answered with something that is not the API. */
export class UnreachableError extends Error {
  override name = "UnreachableError";
}

export interface RpcClientOptions {
  /** Where the API lives: "" for the page's own origin, or an absolute URL. */
  apiUrl: string;
  tokens: TokenStore;
  fetch?: typeof fetch;
}

export interface RpcCall {
  method: string;
  params?: unknown;
}

export interface StreamOptions {
  signal?: AbortSignal;
  lastEventId?: number;
  /** The stream's first frame: the ids of what it follows. */
  onHead?: (head: Record<string, unknown>) => void;
  onEvent: (event: TaskEvent) => void;
}

interface Envelope {
  jsonrpc?: string;
  id?: unknown;
  result?: unknown;
  error?: { code: number; message: string; data?: unknown };
}

/** The dashboard's only way to the server: JSON-RPC over `POST /tasks`, SSE streams included. */
export class RpcClient {
  private nextId = 1;
  private readonly fetcher: typeof fetch;
  readonly endpoint: string;

  constructor(private readonly options: RpcClientOptions) {
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
    this.endpoint = `${options.apiUrl.replace(/\/+$/, "")}/tasks`;
  }

  private headers(extra: Record<string, string> = {}): Record<string, string> {
    const h: Record<string, string> = { "content-type": "application/json", accept: "application/json", ...extra };
    const token = this.options.tokens.get();
    if (token) h.authorization = `Bearer ${token}`;
    return h;
  }

  private async post(body: unknown, headers: Record<string, string> = {}, signal?: AbortSignal): Promise<Response> {
    let response: Response;
    try {
      response = await this.fetcher(this.endpoint, {
        method: "POST",
        headers: this.headers(headers),
        body: JSON.stringify(body),
        ...(signal ? { signal } : {}),
      });
    } catch (err) {
      if (signal?.aborted) throw err;
      throw new UnreachableError(`cannot reach the server at ${this.endpoint}: ${(err as Error).message}`);
    }
    if (response.status === 401) {
      await response.body?.cancel().catch(() => undefined);
      throw new AuthRequiredError(this.options.tokens.get() !== null);
    }
    return response;
  }

  /** One method call; the result, or a typed error. */
  async call<T = unknown>(method: string, params?: unknown, signal?: AbortSignal): Promise<T> {
    const id = this.nextId++;
    const response = await this.post({ jsonrpc: "2.0", id, method, params: params ?? {} }, {}, signal);
    return unwrap<T>(await readJson(response, this.endpoint));
  }

  /** Several calls in one request (a JSON-RPC batch); results in the order of the calls. */
  async batch<T = unknown>(calls: RpcCall[], signal?: AbortSignal): Promise<Array<T | RpcError>> {
    if (calls.length === 0) return [];
    const first = this.nextId;
    this.nextId += calls.length;
    const response = await this.post(
      calls.map((c, i) => ({ jsonrpc: "2.0", id: first + i, method: c.method, params: c.params ?? {} })),
      {},
      signal,
    );
    const body = await readJson(response, this.endpoint);
    if (!Array.isArray(body)) return calls.map(() => toRpcError(body as Envelope));
    const byId = new Map<unknown, Envelope>((body as Envelope[]).map((e) => [e.id, e]));
    return calls.map((_c, i) => {
      const e = byId.get(first + i);
      if (!e) return new RpcError(-32603, "no answer in the batch");
      return e.error ? toRpcError(e) : (e.result as T);
    });
  }

  /**
   * A streaming method (`stream: true`): calls `onEvent` for each task event until the stream
   * ends (the tree finished, or nothing was running and the stored events were replayed).
   * Resolves with the last `seq` seen.
   */
  async stream(method: string, params: Record<string, unknown>, options: StreamOptions): Promise<number | undefined> {
    const headers: Record<string, string> = { accept: "text/event-stream" };
    if (options.lastEventId !== undefined) headers["last-event-id"] = String(options.lastEventId);
    const id = this.nextId++;
    const response = await this.post(
      { jsonrpc: "2.0", id, method, params: { ...params, stream: true } },
      headers,
      options.signal,
    );
    const type = response.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream")) {
      unwrap(await readJson(response, this.endpoint));
      throw new UnreachableError("the server answered a stream request without a stream");
    }
    let last = options.lastEventId;
    const parser = new SseParser();
    const decoder = new TextDecoder();
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const frame of parser.feed(decoder.decode(value, { stream: true }))) {
          const data = JSON.parse(frame.data) as unknown;
          if (frame.event === "execution") options.onHead?.(data as Record<string, unknown>);
          else if (frame.event === "error") throw toRpcError(data as Envelope);
          else {
            const event = data as TaskEvent;
            if (typeof event.seq === "number") last = event.seq;
            options.onEvent(event);
          }
        }
      }
    } finally {
      reader.releaseLock();
    }
    return last;
  }

  /**
   * Whether the server wants a bearer token, from its public agent card (asked before any data
   * request, so a page with auth on shows the sign-in without a refused request); null when the
   * card cannot be read.
   */
  async authRequired(): Promise<boolean | null> {
    const url = `${this.options.apiUrl.replace(/\/+$/, "")}/.well-known/agent-card.json`;
    try {
      const response = await this.fetcher(url, { headers: { accept: "application/json" } });
      if (!response.ok) return null;
      const card = (await response.json()) as { securitySchemes?: Record<string, unknown> };
      return Object.keys(card.securitySchemes ?? {}).length > 0;
    } catch {
      return null;
    }
  }

  /** The methods this server offers (`GET /tasks/methods`), to show only pages it can fill. */
  async methods(): Promise<string[]> {
    let response: Response;
    const url = `${this.endpoint}/methods`;
    try {
      response = await this.fetcher(url, { headers: this.headers() });
    } catch (err) {
      throw new UnreachableError(`cannot reach the server at ${url}: ${(err as Error).message}`);
    }
    if (response.status === 401) throw new AuthRequiredError(this.options.tokens.get() !== null);
    const body = (await readJson(response, url)) as { methods?: Array<{ name: string }> };
    return (body.methods ?? []).map((m) => m.name);
  }
}

async function readJson(response: Response, url: string): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new UnreachableError(`${url} answered HTTP ${response.status} with something that is not JSON`);
  }
}

function toRpcError(e: Envelope | { code?: number; message?: string; data?: unknown }): RpcError {
  const err = "error" in e && e.error ? e.error : (e as { code?: number; message?: string; data?: unknown });
  return new RpcError(err.code ?? -32603, err.message ?? "unknown error", err.data);
}

function unwrap<T>(body: unknown): T {
  const e = body as Envelope;
  if (e && typeof e === "object" && e.error) throw toRpcError(e);
  if (!e || typeof e !== "object" || !("result" in e)) throw new UnreachableError("not a JSON-RPC response");
  return e.result as T;
}
