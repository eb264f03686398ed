import { ApflowError, ErrorCode } from "@aipartnerupflow/core";
import { Hono } from "hono";
import type { AppEnv } from "../env.js";
import { httpStatusOf, isServerFault, toRpcError } from "../errors.js";
import type { MethodContext } from "./context.js";
import { isEventStream } from "./context.js";
import { stringifyJson } from "./json.js";
import { METHODS, invokeMethod } from "./methods.js";
import { idOf, parseBody, readEnvelope, rpcError, rpcResult, type RpcId } from "./protocol.js";
import { sseResponse } from "./sse.js";

export type ContextFactory = (c: {
  principal: MethodContext["principal"];
  secrets: MethodContext["secrets"];
  lastEventId: MethodContext["lastEventId"];
  log: MethodContext["log"];
}) => MethodContext;

/**
 * `text`: the serialised response object; `none`: the request was a notification, which gets no
 * response (not even an error).
 */
type Outcome = { text: string; status: number } | { response: Response } | { none: true };

const BATCH_STREAM = "streams are not allowed in a batch";
const JSON_TYPE = { "content-type": "application/json" };

/** POST /tasks (JSON-RPC 2.0, batches too) and GET /tasks/methods. */
export function jsonRpcRoutes(makeContext: ContextFactory): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get("/tasks/methods", (c) =>
    c.json({
      methods: METHODS.map((m) => ({
        name: m.name,
        summary: m.summary,
        streams: m.streams ?? false,
        errors: m.errors,
        ...(m.mcp ? { mcpTool: m.mcp.tool } : {}),
      })),
    }),
  );

  app.post("/tasks", async (c) => {
    const ctx = makeContext({
      principal: c.get("principal"),
      secrets: c.get("secrets"),
      lastEventId: lastEventId(c.req.header("last-event-id")),
      log: c.get("log"),
    });
    let body: unknown;
    try {
      body = parseBody(await c.req.text());
    } catch (err) {
      return c.json(rpcError(null, toRpcError(err)), 400);
    }
    if (Array.isArray(body)) {
      if (body.length === 0) {
        return c.json(rpcError(null, { code: ErrorCode.InvalidRequest, message: "invalid request: empty batch" }), 400);
      }
      const out: string[] = [];
      for (const item of body) {
        const result = await dispatch(item, ctx, false);
        if ("none" in result) continue;
        out.push(
          "text" in result
            ? result.text
            : JSON.stringify(rpcError(idOf(item), { code: ErrorCode.InvalidRequest, message: BATCH_STREAM })),
        );
      }
      if (out.length === 0) return c.body(null, 204);
      return c.body(`[${out.join(",")}]`, 200, JSON_TYPE);
    }
    const result = await dispatch(body, ctx, true);
    if ("none" in result) return c.body(null, 204);
    if ("response" in result) return result.response;
    return c.body(result.text, result.status as 200, JSON_TYPE);
  });

  return app;
}

async function dispatch(body: unknown, ctx: MethodContext, allowStream: boolean): Promise<Outcome> {
  let id: RpcId = idOf(body);
  let notification = false;
  try {
    const request = readEnvelope(body);
    id = request.id;
    notification = request.notification;
    const result = await invokeMethod(
      request.method,
      request.params,
      ctx,
      allowStream ? {} : { refuseStream: BATCH_STREAM },
    );
    if (notification) {
      // Nobody listens: a stream is closed at once (what it started keeps running).
      if (isEventStream(result)) {
        result.abort.abort();
        await result.events.return(undefined);
      }
      return { none: true };
    }
    if (isEventStream(result)) {
      if (!allowStream) {
        result.abort.abort();
        await result.events.return(undefined);
        throw new ApflowError(ErrorCode.InvalidRequest, BATCH_STREAM);
      }
      return { response: sseResponse(result, (err) => rpcError(id, toRpcError(err))) };
    }
    // Serialised here, inside the request's try: a failure while writing keeps the request's id.
    return { text: stringifyJson(rpcResult(id, result)), status: 200 };
  } catch (err) {
    const error = toRpcError(err);
    if (isServerFault(err)) ctx.log.error({ err: describe(err) }, "JSON-RPC method failed");
    if (notification) return { none: true };
    return { text: JSON.stringify(rpcError(id, error)), status: httpStatusOf(error.code) };
  }
}

function lastEventId(header: string | undefined): number | undefined {
  if (header === undefined) return undefined;
  const n = Number(header);
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** What goes into the log for an unexpected error: message and stack, never request data. */
export function describe(err: unknown): { message: string; stack?: string } {
  return err instanceof Error
    ? { message: err.message, ...(err.stack ? { stack: err.stack } : {}) }
    : { message: String(err) };
}
