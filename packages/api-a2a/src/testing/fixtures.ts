import { Engine, MemoryStore, Registry, TaskFailure, type TaskStore } from "@aipartnerupflow/core";
import { createApp } from "../app.js";
import type { AppOptions } from "../types.js";

/** Test executors: `echo` returns its inputs, `wait` runs until released or aborted, `boom` fails. */
export function testRegistry(): Registry {
  const registry = new Registry();
  registry.registerExecutor({
    id: "echo",
    description: "returns its inputs",
    execute: (inputs) => ({ ...(inputs as Record<string, unknown>) }) as never,
  });
  registry.registerExecutor({
    id: "wait",
    description: "waits until aborted or params.ms elapsed",
    cancelable: true,
    execute: (_inputs, ctx) =>
      new Promise((resolve) => {
        const ms = typeof ctx.task.params.ms === "number" ? ctx.task.params.ms : 60_000;
        const timer = setTimeout(() => resolve({ waited: ms }), ms);
        ctx.signal.addEventListener("abort", () => {
          clearTimeout(timer);
          resolve({ aborted: true });
        });
      }),
  });
  registry.registerExecutor({
    id: "boom",
    description: "always fails",
    execute: () => {
      throw new TaskFailure("BOOM", "exploded on purpose", { retryable: false });
    },
  });
  registry.registerExecutor({
    id: "secret_echo",
    description: "returns which secrets it saw (names only)",
    execute: (_inputs, ctx) => ({ secrets: Object.keys(ctx.secrets).sort() }),
  });
  return registry;
}

export function testEngine(store: TaskStore = new MemoryStore()): Engine {
  return new Engine({ store, registry: testRegistry(), pollIntervalMs: 50, cancelGraceMs: 2000 });
}

export function testApp(overrides: Partial<AppOptions> = {}) {
  const engine = overrides.engine ?? testEngine();
  const app = createApp({ ...overrides, engine });
  return { app, engine };
}

/** A small tree: root aggregates two echo children, the second depends on the first. */
export function smallTree(prefix = "t"): Array<Record<string, unknown>> {
  return [
    {
      name: `${prefix}-root`,
      params: { executorId: "aggregate_results" },
      dependencies: [`${prefix}-a`, `${prefix}-b`],
    },
    { name: `${prefix}-a`, parentId: `${prefix}-root`, params: { executorId: "echo" }, inputs: { n: 1 } },
    {
      name: `${prefix}-b`,
      parentId: `${prefix}-root`,
      params: { executorId: "echo" },
      inputs: { n: 2 },
      dependencies: [`${prefix}-a`],
    },
  ];
}

export interface RpcReply {
  status: number;
  body: { jsonrpc: string; id: unknown; result?: any; error?: { code: number; message: string; data?: any } };
}

/** One JSON-RPC call through `app.request` (no server). */
export async function rpc(
  app: { request: (path: string, init: RequestInit) => Response | Promise<Response> },
  method: string,
  params?: unknown,
  headers: Record<string, string> = {},
): Promise<RpcReply> {
  const res = await app.request("/tasks", {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method, ...(params === undefined ? {} : { params }) }),
  });
  return { status: res.status, body: (await res.json()) as RpcReply["body"] };
}

/** Serve an app on 127.0.0.1 with a free port. */
export async function listen(app: { fetch(request: Request, env?: unknown): Response | Promise<Response> }) {
  const { startServer } = await import("../server.js");
  return startServer({ app, port: 0, host: "127.0.0.1" });
}

/** A response body as JSON, typed loosely for assertions. */
export async function json(res: Response | Promise<Response>): Promise<any> {
  return (await res).json();
}
