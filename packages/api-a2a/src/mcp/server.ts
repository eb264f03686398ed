import {
  type Engine,
  type JsonValue,
  type Logger,
  type Registry,
  type Task,
  type TaskEvent,
  type TaskStore,
  silentLogger,
} from "@aipartnerupflow/core";
import { McpServer, ResourceTemplate } from "@modelcontextprotocol/sdk/server/mcp.js";
import { type CallToolResult, McpError } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { isServerFault, toRpcError } from "../errors.js";
import { LOCAL_PRINCIPAL } from "../service/access.js";
import { TaskService } from "../service/task-service.js";
import { nestTree } from "../service/tree.js";
import type { Principal } from "../types.js";
import { VERSION } from "../version.js";

export interface McpDeps {
  engine: Engine;
  store?: TaskStore;
  registry?: Registry;
  /** Whose tasks the tools act on; the local administrator by default (stdio, auth off). */
  principal?: Principal;
  /** Per-request executor secrets (LLM keys). */
  secrets?: Record<string, string>;
  name?: string;
  version?: string;
}

type Extra = {
  _meta?: { progressToken?: string | number };
  sendNotification: (n: {
    method: "notifications/progress";
    params: { progressToken: string | number; progress: number; total?: number; message?: string };
  }) => Promise<void>;
  signal: AbortSignal;
};

const taskId = z.string().min(1).describe("task id (the root id for a whole tree)");

function ok(value: unknown): CallToolResult {
  return {
    content: [{ type: "text", text: JSON.stringify(value) }],
    structuredContent: (value && typeof value === "object" && !Array.isArray(value) ? value : { value }) as Record<
      string,
      unknown
    >,
  };
}

function fail(err: unknown): CallToolResult {
  return { isError: true, content: [{ type: "text", text: JSON.stringify({ error: toRpcError(err) }) }] };
}

function logFault(err: unknown, log: Logger): void {
  if (isServerFault(err)) log.error({ err: err instanceof Error ? err.message : String(err) }, "MCP internal error");
}

async function guarded(fn: () => Promise<unknown>, log: Logger): Promise<CallToolResult> {
  try {
    return ok(await fn());
  } catch (err) {
    logFault(err, log);
    return fail(err);
  }
}

/** A resource callback whose errors go out as protocol errors mapped like the tools' (no internals). */
function guardedResource<A extends unknown[], R>(fn: (...args: A) => Promise<R>, log: Logger) {
  return async (...args: A): Promise<R> => {
    try {
      return await fn(...args);
    } catch (err) {
      logFault(err, log);
      const rpc = toRpcError(err);
      throw new McpError(rpc.code, rpc.message, rpc.data);
    }
  };
}

/**
 * The MCP server of SPEC §8.3: task tools, the `task://{id}` and `tasks://list` resources, and
 * progress notifications while `execute_task` waits for a tree (when the client sent a
 * progressToken). Connect it to any transport (Streamable HTTP at /mcp, stdio for `apflow mcp`).
 */
export function createMcpServer(deps: McpDeps): McpServer {
  const service = new TaskService(deps.engine, deps.store ?? deps.engine.store, deps.registry ?? deps.engine.registry);
  return buildMcpServer(
    service,
    deps.principal ?? LOCAL_PRINCIPAL,
    deps.secrets,
    deps.name ?? "aipartnerupflow",
    deps.version ?? VERSION,
  );
}

export function buildMcpServer(
  service: TaskService,
  principal: Principal,
  secrets: Record<string, string> | undefined,
  name: string,
  version: string,
  log: Logger = silentLogger,
): McpServer {
  const server = new McpServer({ name, version }, { capabilities: { logging: {} } });
  const guard = (fn: () => Promise<unknown>): Promise<CallToolResult> => guarded(fn, log);

  server.registerTool(
    "create_tasks",
    {
      title: "Create a task tree",
      description:
        "Validate and store a flat task array (parentId and dependencies refer by id or name). Returns the created tasks and the root id.",
      inputSchema: { tasks: z.array(z.record(z.string(), z.unknown())).min(1).describe("the flat task array") },
    },
    ({ tasks }) => guard(() => service.create(principal, tasks)),
  );

  server.registerTool(
    "execute_task",
    {
      title: "Execute a tree",
      description:
        "Run a tree (or one task with what it needs). Waits for the outcome by default, reporting progress; wait=false returns at once.",
      inputSchema: {
        taskId,
        rerun: z.enum(["failed", "all"]).optional(),
        demo: z.boolean().optional(),
        wait: z.boolean().optional().describe("wait for the outcome (default true)"),
      },
    },
    async ({ taskId: id, rerun, demo, wait }, extra: Extra) => {
      try {
        const handle = await service.execute(principal, id, {
          ...(rerun ? { rerun } : {}),
          ...(demo !== undefined ? { demo } : {}),
          ...(secrets ? { secrets } : {}),
        });
        const head = { executionId: handle.execution.id, rootId: handle.execution.rootId };
        if (wait === false) return ok({ ...head, status: handle.execution.status });
        const token = extra._meta?.progressToken;
        const total = handle.execution.total;
        let done = 0;
        for await (const e of handle.events({ signal: extra.signal })) {
          if (isTaskEnd(e)) done++;
          if (token !== undefined && e.type !== "tree.started") {
            await extra.sendNotification({
              method: "notifications/progress",
              params: { progressToken: token, progress: done, total, message: `${e.type} ${e.taskId}` },
            });
          }
        }
        const outcome = await handle.done;
        return ok({ ...head, status: outcome.status, tasks: outcome.tasks.map(summary) });
      } catch (err) {
        return fail(err);
      }
    },
  );

  server.registerTool(
    "get_task",
    { title: "Get a task", description: "One task with its status, result and error.", inputSchema: { taskId } },
    ({ taskId: id }) => guard(() => service.get(principal, id)),
  );

  server.registerTool(
    "get_task_tree",
    { title: "Get a tree", description: "The whole tree of a task, nested by parent.", inputSchema: { taskId } },
    ({ taskId: id }) =>
      guard(async () => {
        const tasks = await service.tree(principal, id);
        return { rootId: (tasks[0] as Task).rootId, tree: nestTree(tasks) };
      }),
  );

  server.registerTool(
    "list_tasks",
    {
      title: "List tasks",
      description: "Tasks, newest first.",
      inputSchema: {
        status: z.enum(["pending", "in_progress", "completed", "failed", "cancelled"]).optional(),
        rootId: z.string().optional(),
        rootsOnly: z.boolean().optional(),
        limit: z.number().int().min(1).max(1000).optional(),
        offset: z.number().int().min(0).optional(),
      },
    },
    (args) => guard(() => service.list(principal, { ...defined(args), limit: args.limit ?? 100, order: "-createdAt" })),
  );

  server.registerTool(
    "cancel_task",
    {
      title: "Cancel",
      description: "Cancel a task, or a whole tree through its root.",
      inputSchema: { taskId, reason: z.string().optional() },
    },
    ({ taskId: id, reason }) => guard(() => service.cancel(principal, id, reason)),
  );

  server.registerTool(
    "copy_task",
    {
      title: "Copy for re-execution",
      description: "Copy part of a tree (minimal, full or custom) as a new tree linked to the original.",
      inputSchema: {
        taskId,
        mode: z.enum(["minimal", "full", "custom"]).optional(),
        taskIds: z.array(z.string()).optional(),
        save: z.boolean().optional(),
      },
    },
    ({ taskId: id, ...options }) => guard(async () => ({ tasks: await service.copy(principal, id, defined(options)) })),
  );

  server.registerTool(
    "list_executors",
    {
      title: "List executors",
      description: "Executors that may run here, with their input JSON Schemas.",
      inputSchema: {},
    },
    () => guard(async () => ({ executors: service.registry.listExecutors() })),
  );

  server.registerTool(
    "count_tasks",
    {
      title: "Count tasks",
      description: "Task counts by status.",
      inputSchema: { rootId: z.string().optional(), rootsOnly: z.boolean().optional() },
    },
    (args) => guard(() => service.count(principal, defined(args))),
  );

  server.registerResource(
    "task",
    new ResourceTemplate("task://{id}", {
      list: guardedResource(async () => {
        const page = await service.list(principal, { rootsOnly: true, limit: 50, order: "-createdAt" });
        return {
          resources: page.tasks.map((t) => ({ uri: `task://${t.id}`, name: t.name, mimeType: "application/json" })),
        };
      }, log),
    }),
    { title: "Task", description: "One task as JSON", mimeType: "application/json" },
    guardedResource(async (uri: URL, variables: Record<string, string | string[]>) => {
      const id = String(Array.isArray(variables.id) ? variables.id[0] : variables.id);
      const task = await service.get(principal, decodeURIComponent(id));
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(task) }] };
    }, log),
  );

  server.registerResource(
    "tasks",
    "tasks://list",
    { title: "Recent trees", description: "The 100 newest root tasks as JSON", mimeType: "application/json" },
    guardedResource(async (uri: URL) => {
      const page = await service.list(principal, { rootsOnly: true, limit: 100, order: "-createdAt" });
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(page) }] };
    }, log),
  );

  return server;
}

function isTaskEnd(e: TaskEvent): boolean {
  return e.type === "task.completed" || e.type === "task.failed" || e.type === "task.cancelled";
}

function summary(t: Task): Record<string, JsonValue> {
  return { id: t.id, name: t.name, status: t.status, result: t.result, error: t.error as unknown as JsonValue };
}

function defined<T extends object>(obj: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]: Exclude<T[K], undefined>;
  };
}
