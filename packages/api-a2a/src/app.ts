import { ApflowError, ErrorCode, type JsonValue, silentLogger } from "@aipartnerupflow/core";
import { getConnInfo } from "@hono/node-server/conninfo";
import { type Context, Hono } from "hono";
import { cors } from "hono/cors";
import { requestId } from "hono/request-id";
import type { MethodCaller } from "./a2a/handler.js";
import { a2aRoutes } from "./a2a/route.js";
import { createVerifier } from "./auth/verifier.js";
import { compatSurface } from "./compat/route.js";
import { authMiddleware } from "./auth/middleware.js";
import type { AppEnv } from "./env.js";
import { httpStatusOf, toRpcError } from "./errors.js";
import { DOCS_HTML } from "./jsonrpc/docs.js";
import { openApiDocument } from "./jsonrpc/openapi.js";
import { isEventStream } from "./jsonrpc/context.js";
import { nestsDeeperThan, stringifyJson } from "./jsonrpc/json.js";
import { invokeMethod } from "./jsonrpc/methods.js";
import { type ContextFactory, describe, jsonRpcRoutes } from "./jsonrpc/route.js";
import { OutboundGuard } from "./jsonrpc/outbound.js";
import { WebhookDispatcher } from "./jsonrpc/webhook.js";
import { mcpRoutes } from "./mcp/route.js";
import { QueueMetrics } from "./metrics/collector.js";
import { metricsRoutes } from "./metrics/route.js";
import { bodyLimit } from "./middleware/body-limit.js";
import { hostCheck } from "./middleware/host-check.js";
import { llmKeys } from "./middleware/llm-keys.js";
import { authFailureLimit, rateLimit } from "./middleware/rate-limit.js";
import { requestLog } from "./middleware/request-log.js";
import { TaskService } from "./service/task-service.js";
import type { AppOptions } from "./types.js";
import { VERSION } from "./version.js";

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

/** How deeply a result of another operation may nest inside an A2A message (the SDK converts it recursively). */
const A2A_MAX_RESULT_DEPTH = 1000;

/** A Hono app with extra handles the server needs (webhook drain on shutdown). */
export type ApflowApp = Hono<AppEnv> & {
  /** `metrics`: the queue metrics of `GET /metrics`; a `Scheduler` beside the app reports its firings there (`onFire`). */
  readonly apflow: { service: TaskService; webhooks: WebhookDispatcher; metrics: QueueMetrics };
};

/**
 * The HTTP surface: A2A (`/a2a`, `/`, the agent card), the JSON-RPC task API
 * (`/tasks`), MCP (`/mcp`), `/health`, `/openapi.json` and `/docs`, behind request ids, access
 * logs, CORS, body limit, auth and rate limiting.
 */
export function createApp(options: AppOptions): ApflowApp {
  const { engine } = options;
  const store = options.store ?? engine.store;
  const registry = options.registry ?? engine.registry;
  const logger = options.logger ?? silentLogger;
  const version = options.version ?? VERSION;
  const name = options.name ?? "aipartnerupflow";
  const startedAt = Date.now();
  const metrics = new QueueMetrics(engine, store);
  const service = new TaskService(engine, store, registry, metrics);
  const outbound = new OutboundGuard({ allowHosts: options.webhookAllowHosts ?? [] });
  const webhooks = new WebhookDispatcher(options.webhooks ?? {}, logger.child({ component: "webhooks" }), outbound);
  const verifier = createVerifier(options.auth);

  const compat =
    options.compat === false
      ? null
      : compatSurface(
          {
            service,
            webhooks,
            name,
            version,
            startedAt,
            publicUrl: options.publicUrl,
            auth: verifier !== null,
            corsOrigins: options.corsOrigins,
          },
          options.compat,
        );

  const app = new Hono<AppEnv>();
  app.use(requestId());
  app.use(requestLog(logger));
  app.use(hostCheck({ allowedHosts: options.allowedHosts ?? [], corsOrigins: options.corsOrigins ?? [] }));
  // The original's web app sends credentials: its surface allows them (before the app's CORS).
  if (compat?.cors) app.use(`${compat.path}/*`, compat.cors);
  if (options.corsOrigins && options.corsOrigins.length > 0) {
    app.use(
      cors({
        origin: options.corsOrigins,
        allowHeaders: [
          "Authorization",
          "Content-Type",
          "Last-Event-ID",
          "X-LLM-API-KEY",
          "A2A-Version",
          "mcp-session-id",
          "mcp-protocol-version",
        ],
        exposeHeaders: ["X-Request-Id", "mcp-session-id"],
        maxAge: 600,
      }),
    );
  }
  app.use(
    bodyLimit(options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT, (c) =>
      c.json(
        { jsonrpc: "2.0", id: null, error: { code: ErrorCode.InvalidRequest, message: "request body too large" } },
        413,
      ),
    ),
  );
  // Failed logins are limited per IP before auth; everything else per user (or IP) after it.
  if (options.rateLimit && verifier) app.use(authFailureLimit(options.rateLimit, clientIp));
  // The compat agent card is public like ours (registered before auth).
  if (compat) for (const path of compat.cardPaths) app.get(path, compat.card);
  app.use(authMiddleware(verifier));
  if (options.rateLimit) app.use(rateLimit(options.rateLimit, clientIp));
  app.use(llmKeys());

  app.get("/health", (c) =>
    c.json({ status: "ok", version, uptimeSeconds: Math.round((Date.now() - startedAt) / 1000) }),
  );
  app.get("/openapi.json", (c) => c.json(openApiDocument({ title: `${name} API`, version })));
  app.get("/docs", (c) => c.html(DOCS_HTML));

  const makeContext: ContextFactory = (r) => ({
    principal: r.principal,
    secrets: r.secrets,
    lastEventId: r.lastEventId,
    log: r.log,
    service,
    webhooks,
    version,
    startedAt,
  });
  const callMethod: MethodCaller = async (method, params, principal, secrets) => {
    const result = await invokeMethod(
      method,
      params,
      makeContext({ principal, secrets, lastEventId: undefined, log: logger }),
      { refuseStream: "stream: true is not available through metadata.method; use SendStreamingMessage" },
    );
    if (isEventStream(result)) {
      result.abort.abort();
      await result.events.return(undefined);
      throw new ApflowError(ErrorCode.InvalidRequest, "a stream is not available through metadata.method");
    }
    if (nestsDeeperThan(result, A2A_MAX_RESULT_DEPTH)) {
      throw new ApflowError(
        ErrorCode.InvalidParams,
        `the result of ${method} nests deeper than ${A2A_MAX_RESULT_DEPTH} levels, more than an A2A message carries; ask for a flat form (tasks.tree with format: "flat") or use POST /tasks`,
        {
          errors: [
            {
              path: "params",
              code: "result_too_deep",
              message: `result nests deeper than ${A2A_MAX_RESULT_DEPTH} levels`,
            },
          ],
        },
      );
    }
    return JSON.parse(stringifyJson(result ?? null)) as JsonValue;
  };

  app.route("/", jsonRpcRoutes(makeContext));
  app.route("/", metricsRoutes(metrics));
  app.route("/", mcpRoutes({ service, name, version, startedAt }));
  app.route(
    "/",
    a2aRoutes({
      service,
      name,
      version,
      publicUrl: options.publicUrl,
      auth: verifier !== null,
      logger,
      callMethod,
      outbound,
    }),
  );

  if (compat) app.route(compat.path, compat.routes);

  app.notFound((c) =>
    c.json({ error: { code: ErrorCode.MethodNotFound, message: `not found: ${c.req.method} ${c.req.path}` } }, 404),
  );
  app.onError((err, c) => {
    const log = c.get("log") ?? logger;
    log.error({ err: describe(err) }, "unhandled error");
    const rpc = toRpcError(err);
    return c.json({ jsonrpc: "2.0", id: null, error: rpc }, httpStatusOf(rpc.code) as 500);
  });

  return Object.assign(app, { apflow: { service, webhooks, metrics } });
}

/** The peer address behind a request (for per-IP rate limits); "unknown" outside a Node server. */
function clientIp(c: Context<AppEnv>): string {
  try {
    return getConnInfo(c).remote.address ?? "unknown";
  } catch {
    return "unknown";
  }
}
