import { AgentCard } from "@a2a-js/sdk";
import { ApflowError, ErrorCode } from "@aipartnerupflow/core";
import { type Context, Hono, type MiddlewareHandler } from "hono";
import { cors } from "hono/cors";
import { buildCard, cardJson } from "../a2a/card.js";
import type { AppEnv } from "../env.js";
import { httpStatusOf, isServerFault, toRpcError } from "../errors.js";
import { idOf, parseBody, readEnvelope, type RpcId } from "../jsonrpc/protocol.js";
import { describe } from "../jsonrpc/route.js";
import type { WebhookDispatcher } from "../jsonrpc/webhook.js";
import type { TaskService } from "../service/task-service.js";
import { compatSseResponse, isCompatStream } from "./events.js";
import { LlmKeyVault } from "./llm-keys.js";
import { type CompatCall, type CompatDeps, type Handler, SYSTEM_METHODS, TASK_METHODS } from "./methods.js";

export const DEFAULT_COMPAT_PATH = "/compat";

/** `createApp({ compat })`: the Python original's API, served beside ours. */
export interface CompatOptions {
  /** Where it is mounted (default `/compat`). */
  path?: string;
  /** Whether `config.llm_key.*` may hold per-user LLM keys in server memory (default true). */
  storedLlmKeys?: boolean;
}

export interface CompatSurfaceDeps {
  service: TaskService;
  webhooks: WebhookDispatcher;
  name: string;
  version: string;
  startedAt: number;
  publicUrl: string | undefined;
  auth: boolean;
  corsOrigins: string[] | undefined;
}

/** What `createApp` mounts: CORS (before the app's), the public card (before auth), the routes. */
export interface CompatSurface {
  path: string;
  /** CORS for the surface with credentials allowed (the original's web app sends them); null without origins. */
  cors: MiddlewareHandler<AppEnv> | null;
  cardPaths: string[];
  card: (c: Context<AppEnv>) => Response;
  routes: Hono<AppEnv>;
}

/** A mount path: starts with `/`, has segments of URL-safe characters, no trailing `/`. */
export function compatPath(path: string | undefined): string {
  const p = path ?? DEFAULT_COMPAT_PATH;
  if (!/^(\/[A-Za-z0-9._~-]+)+$/.test(p)) {
    throw new ApflowError(ErrorCode.InvalidParams, `compat.path must look like /compat (got "${p}")`);
  }
  return p;
}

/**
 * The original's JSON-RPC API (`POST <path>/tasks`, `POST <path>/system`) and agent card
 * (`GET <path>/.well-known/agent-card`): its method and parameter names and response shapes over
 * the same `TaskService` as `/tasks`, with our auth, validation and error codes. Errors carry
 * a readable `data` string (the original's clients show `error.data` before `error.message`).
 */
export function compatSurface(deps: CompatSurfaceDeps, options: CompatOptions = {}): CompatSurface {
  const path = compatPath(options.path);
  const methods: CompatDeps = {
    service: deps.service,
    webhooks: deps.webhooks,
    vault: options.storedLlmKeys === false ? null : new LlmKeyVault(),
    name: deps.name,
    version: deps.version,
    startedAt: deps.startedAt,
  };

  const routes = new Hono<AppEnv>();
  const serve = (table: Record<string, Handler>, what: "task" | "system") => async (c: Context<AppEnv>) => {
    let id: RpcId = null;
    let notification = false;
    const log = c.get("log");
    try {
      const body = parseBody(await c.req.text());
      id = idOf(body);
      const request = readEnvelope(body);
      notification = request.notification;
      const handler = table[request.method];
      if (!handler) {
        throw new ApflowError(ErrorCode.MethodNotFound, notHere(request.method, what, path), {
          method: request.method,
        });
      }
      const call: CompatCall = { principal: c.get("principal"), secrets: c.get("secrets"), log };
      const result = await handler(request.params, call, methods);
      if (request.notification) {
        // JSON-RPC 2.0: a notification (no id) gets no answer; what it started keeps running.
        if (isCompatStream(result)) {
          result.abort.abort();
          await result.events.return(undefined);
        }
        return c.body(null, 204);
      }
      if (isCompatStream(result)) return compatSseResponse(result, id);
      return c.json({ jsonrpc: "2.0", id, result: result ?? null });
    } catch (err) {
      if (isServerFault(err)) log.error({ err: describe(err) }, "compat method failed");
      if (notification) return c.body(null, 204);
      const error = compatError(err);
      return c.json({ jsonrpc: "2.0", id, error }, httpStatusOf(error.code) as 400);
    }
  };
  routes.post("/tasks", serve(TASK_METHODS, "task"));
  routes.post("/system", serve(SYSTEM_METHODS, "system"));

  const card = (c: Context<AppEnv>) => {
    const base = deps.publicUrl ?? new URL(c.req.url).origin;
    const served = buildCard({ name: deps.name, version: deps.version, baseUrl: base, auth: deps.auth });
    c.header("Cache-Control", "no-cache");
    return c.json(cardJson(served, (x) => AgentCard.toJSON(x), true));
  };

  const origins = deps.corsOrigins ?? [];
  return {
    path,
    cors:
      origins.length > 0
        ? cors({
            origin: origins,
            credentials: true,
            allowHeaders: ["Authorization", "Content-Type", "X-LLM-API-KEY"],
            exposeHeaders: ["X-Request-Id"],
            maxAge: 600,
          })
        : null,
    cardPaths: [`${path}/.well-known/agent-card`, `${path}/.well-known/agent-card.json`],
    card,
    routes,
  };
}

/** Why a method is not answered here, and where it is when it exists elsewhere. */
function notHere(method: string, what: "task" | "system", path: string): string {
  if (what === "task" && method in SYSTEM_METHODS) return `method not found: ${method} is served at ${path}/system`;
  if (what === "system" && method in TASK_METHODS) return `method not found: ${method} is served at ${path}/tasks`;
  if (method === "tasks.generate") return "method not found: tasks.generate is not on this surface; call it on /tasks";
  return `method not found: ${method}`;
}

/** Our error with `data` as one readable line (what failed, where), the original's way. */
function compatError(err: unknown): { code: number; message: string; data: string } {
  const error = toRpcError(err);
  const issues = (error.data as { errors?: Array<{ path?: string; message?: string }> } | undefined)?.errors;
  const data =
    Array.isArray(issues) && issues.length > 0
      ? issues.map((i) => (i.path ? `${i.path}: ${i.message}` : `${i.message}`)).join("; ")
      : error.message;
  return { code: error.code, message: error.message, data };
}
