import type { Logger } from "@aipartnerupflow/core";
import { AgentCard, formatSSEErrorEvent, formatSSEEvent } from "@a2a-js/sdk";
import { LegacyJsonRpcTransportHandler } from "@a2a-js/sdk/compat/v0_3/server";
import { JsonRpcTransportHandler, type RequestHeaders, ServerCallContext, validateVersion } from "@a2a-js/sdk/server";
import { type Context, Hono } from "hono";
import type { AppEnv } from "../env.js";
import type { OutboundGuard } from "../jsonrpc/outbound.js";
import { describe } from "../jsonrpc/route.js";
import { redactInternal } from "./errors.js";
import type { TaskService } from "../service/task-service.js";
import { buildCard, cardJson } from "./card.js";
import { EngineAgentExecutor } from "./executor.js";
import { ApflowRequestHandler, type MethodCaller } from "./handler.js";
import { GuardedPushNotificationSender, GuardedPushNotificationStore } from "./push.js";
import { EngineA2aTaskStore } from "./task-store.js";
import { ABORT_KEY, PrincipalUser, SECRETS_KEY } from "./user.js";

export interface A2aDeps {
  service: TaskService;
  name: string;
  version: string;
  publicUrl: string | undefined;
  auth: boolean;
  logger: Logger;
  callMethod: MethodCaller;
  /** Checks push notification URLs when they are set and when they are used. */
  outbound: OutboundGuard;
}

const VERSION_HEADER = "A2A-Version";
const LEGACY = "0.3";

type JsonRpcEnvelope = { jsonrpc: string; id: string | number | null; result?: unknown; error?: unknown };

/**
 * A2A over JSON-RPC (docs/semantics.md#the-api-surfaces): POST /a2a and POST / with the SDK's v1.0 handler, or its v0.3
 * compat handler when `A2A-Version` is absent or `0.3` (the SDK's own rule); the agent card at
 * /.well-known/agent-card.json (and the v0.3 name agent.json).
 */
export function a2aRoutes(deps: A2aDeps): Hono<AppEnv> {
  const card = buildCard({
    name: deps.name,
    version: deps.version,
    baseUrl: deps.publicUrl ?? "http://127.0.0.1:8000",
    auth: deps.auth,
  });
  const taskStore = new EngineA2aTaskStore(deps.service);
  const pushStore = new GuardedPushNotificationStore(deps.service, deps.outbound);
  const handler = new ApflowRequestHandler({
    card,
    service: deps.service,
    taskStore,
    executor: new EngineAgentExecutor(deps.service, taskStore),
    callMethod: deps.callMethod,
    pushStore,
    pushSender: new GuardedPushNotificationSender(
      pushStore,
      deps.outbound,
      deps.logger.child({ component: "push-notifications" }),
    ),
  });
  const v1 = new JsonRpcTransportHandler(handler);
  const legacy = new LegacyJsonRpcTransportHandler(handler);
  const app = new Hono<AppEnv>();

  const serveCard = (c: Context<AppEnv>) => {
    const base = deps.publicUrl ?? new URL(c.req.url).origin;
    const served = buildCard({ name: deps.name, version: deps.version, baseUrl: base, auth: deps.auth });
    const requested = c.req.header(VERSION_HEADER);
    c.header("Vary", VERSION_HEADER);
    c.header("Cache-Control", "no-cache");
    return c.json(cardJson(served, (x) => AgentCard.toJSON(x), !requested || requested.startsWith("0.")));
  };
  app.get("/.well-known/agent-card.json", serveCard);
  app.get("/.well-known/agent.json", serveCard);

  const rpc = async (c: Context<AppEnv>) => {
    const requestedVersion = c.req.header(VERSION_HEADER) || undefined;
    const useLegacy = (requestedVersion ?? LEGACY) === LEGACY;
    const mapError = useLegacy
      ? LegacyJsonRpcTransportHandler.mapToLegacyJSONRPCError
      : JsonRpcTransportHandler.mapToJSONRPCError;
    let body: unknown;
    try {
      body = JSON.parse(await c.req.text());
    } catch {
      return c.json({ jsonrpc: "2.0", id: null, error: { code: -32700, message: "Invalid JSON payload." } });
    }
    const id = idOf(body);
    const log = c.get("log");
    const fail = (err: unknown) => redactInternal({ jsonrpc: "2.0", id, error: mapError(err) }, log);
    try {
      const headers: RequestHeaders = {};
      c.req.raw.headers.forEach((value, key) => {
        headers[key] = value;
      });
      const abort = new AbortController();
      const context = new ServerCallContext({
        user: new PrincipalUser(c.get("principal")),
        state: new Map<string, unknown>([
          ["headers", headers],
          [SECRETS_KEY, c.get("secrets")],
          [ABORT_KEY, abort.signal],
        ]),
        ...(requestedVersion ? { requestedVersion } : {}),
      });
      validateVersion(context.requestedVersion, card, "JSONRPC");
      if (!body || typeof body !== "object" || Array.isArray(body)) {
        return c.json({
          jsonrpc: "2.0",
          id,
          error: { code: -32600, message: "Invalid request: expected a JSON-RPC object." },
        });
      }
      const out = await (useLegacy ? legacy : v1).handle(body as Record<string, unknown>, context);
      if (!isAsyncIterable(out)) return c.json(redactInternal(out as JsonRpcEnvelope, log));
      // A stream's client leaving ends what follows the tree for it (the tree itself runs on).
      const stop = () => abort.abort();
      const iterator = out[Symbol.asyncIterator]();
      const alwaysSse = useLegacy && (body as { method?: unknown }).method === "tasks/resubscribe";
      let first: IteratorResult<JsonRpcEnvelope> | undefined;
      if (!alwaysSse) {
        try {
          first = await iterator.next();
        } catch (err) {
          stop();
          return c.json(fail(err));
        }
      }
      return sse(first, iterator, fail, log, stop);
    } catch (err) {
      c.get("log").warn({ err: describe(err) }, "A2A request failed");
      return c.json(fail(err));
    }
  };
  app.post("/a2a", rpc);
  app.post("/", rpc);
  return app;
}

function sse(
  first: IteratorResult<JsonRpcEnvelope> | undefined,
  iterator: AsyncIterator<JsonRpcEnvelope>,
  fail: (err: unknown) => unknown,
  log: Logger,
  stop: () => void,
): Response {
  const encoder = new TextEncoder();
  let pending = first;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const next = pending ?? (await iterator.next());
        pending = undefined;
        if (next.done) {
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(formatSSEEvent(redactInternal(next.value, log))));
      } catch (err) {
        log.warn({ err: describe(err) }, "A2A stream failed");
        controller.enqueue(encoder.encode(formatSSEErrorEvent(fail(err))));
        controller.close();
      }
    },
    async cancel() {
      // Abort first: `return()` waits for a generator parked on its next event otherwise.
      stop();
      await iterator.return?.(undefined);
    },
  });
  return new Response(body, {
    headers: {
      "content-type": "text/event-stream",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<JsonRpcEnvelope> {
  return typeof (value as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator] === "function";
}

function idOf(body: unknown): string | number | null {
  const id = (body as { id?: unknown } | null)?.id;
  return typeof id === "string" || typeof id === "number" ? id : null;
}
