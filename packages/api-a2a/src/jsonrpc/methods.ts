import {
  ApflowError,
  ErrorCode,
  type JsonObject,
  type Task,
  type TaskEvent,
  type TaskPatch,
  ValidationError,
  zodIssues,
} from "@aipartnerupflow/core";
import type { z } from "zod";
import { nestTree } from "../service/tree.js";
import { camelKeys, camelTasks } from "./aliases.js";
import type { EventStream, MethodContext } from "./context.js";
import * as S from "./schemas.js";

export interface MethodDefinition<P extends z.ZodType = z.ZodType> {
  name: string;
  summary: string;
  params: P;
  /** Whether the method may answer with an SSE stream (`stream: true`). */
  streams?: boolean;
  handler(params: z.output<P>, ctx: MethodContext): Promise<unknown>;
}

/** Task error codes of a generation that failed on its input: -32602, the rest -32603. */
const GENERATE_VALIDATION_CODES = new Set<string>(["INVALID_INPUTS", "INVALID_TREE"]);

function define<P extends z.ZodType>(def: MethodDefinition<P>): MethodDefinition {
  return def as unknown as MethodDefinition;
}

/** Validate params against a method's schema, after alias normalisation. */
export function parseParams(method: MethodDefinition, raw: unknown): unknown {
  let params: unknown = raw === undefined || raw === null ? {} : raw;
  if (method.name === "tasks.create" && Array.isArray(params)) params = { tasks: params };
  if (typeof params !== "object" || Array.isArray(params)) {
    throw new ValidationError([{ path: "params", code: "invalid_type", message: "params must be an object" }]);
  }
  const named = camelKeys(params) as Record<string, unknown>;
  if (named.taskId === undefined && typeof named.id === "string") named.taskId = named.id;
  if (method.name === "tasks.create") named.tasks = camelTasks(named.tasks);
  const parsed = method.params.safeParse(named);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, "params"));
  return parsed.data;
}

function stream(head: EventStream["head"], make: (signal: AbortSignal) => AsyncGenerator<TaskEvent>): EventStream {
  const abort = new AbortController();
  return { kind: "event-stream", head, events: make(abort.signal), abort };
}

function defined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

export const METHODS: MethodDefinition[] = [
  define({
    name: "tasks.create",
    summary: "Validate and store one tree (or several independent trees) atomically",
    params: S.createParams,
    handler: (p, ctx) => ctx.service.create(ctx.principal, p.tasks),
  }),
  define({
    name: "tasks.get",
    summary: "One task",
    params: S.taskIdParams,
    handler: (p, ctx) => ctx.service.get(ctx.principal, p.taskId),
  }),
  define({
    name: "tasks.detail",
    summary: "One task with its attempt history and its tree's executions",
    params: S.taskIdParams,
    handler: (p, ctx) => ctx.service.detail(ctx.principal, p.taskId),
  }),
  define({
    name: "tasks.update",
    summary: "Change what a task that is not running will do",
    params: S.updateParams,
    handler: (p, ctx) => {
      const { taskId, ...patch } = p;
      return ctx.service.update(ctx.principal, taskId, defined(patch) as TaskPatch);
    },
  }),
  define({
    name: "tasks.delete",
    summary: "Delete a task and its descendants",
    params: S.taskIdParams,
    handler: (p, ctx) => ctx.service.delete(ctx.principal, p.taskId),
  }),
  define({
    name: "tasks.list",
    summary: "Tasks, newest first, filtered and paginated",
    params: S.listParams,
    handler: (p, ctx) => ctx.service.list(ctx.principal, defined(p)),
  }),
  define({
    name: "tasks.count",
    summary: "Task counts by status",
    params: S.countParams,
    handler: (p, ctx) => ctx.service.count(ctx.principal, defined(p)),
  }),
  define({
    name: "tasks.tree",
    summary: "The whole tree of a task, nested by parent (or flat)",
    params: S.treeParams,
    handler: async (p, ctx) => {
      const id = requireOne(p.taskId ?? p.rootId, "taskId");
      const tasks = await ctx.service.tree(ctx.principal, id);
      const rootId = (tasks[0] as Task).rootId;
      return p.format === "flat" ? { rootId, tasks } : { rootId, tree: nestTree(tasks) };
    },
  }),
  define({
    name: "tasks.children",
    summary: "The direct children of a task",
    params: S.childrenParams,
    handler: async (p, ctx) => ({
      tasks: await ctx.service.children(ctx.principal, requireOne(p.parentId ?? p.taskId, "parentId")),
    }),
  }),
  define({
    name: "tasks.copy",
    summary: "Copy part of a tree for re-execution (modes minimal, full, custom)",
    params: S.copyParams,
    handler: async (p, ctx) => {
      const { taskId, ...options } = p;
      const tasks = await ctx.service.copy(ctx.principal, taskId, defined(options));
      const root = tasks[0] as { id?: string; rootId?: string } | undefined;
      return { saved: p.save, rootId: p.save ? (root?.rootId ?? null) : null, tasks };
    },
  }),
  define({
    name: "tasks.execute",
    summary: "Run a tree (or a task with what it needs); stream: SSE events, webhook: POSTed events, wait: the outcome",
    params: S.executeParams,
    streams: true,
    handler: async (p, ctx) => {
      if (p.stream && ctx.lastEventId !== undefined) {
        const resumed = await resumeStream(p.taskId, ctx);
        if (resumed) return resumed;
      }
      if (p.webhook) {
        // Refused before anything runs: internal addresses unless the operator allowed the host.
        const problem = await ctx.webhooks.problem(p.webhook.url);
        if (problem)
          throw new ApflowError(ErrorCode.InvalidParams, problem, {
            errors: [{ path: "webhook.url", code: "forbidden_url", message: problem }],
          });
      }
      const handle = await ctx.service.execute(
        ctx.principal,
        p.taskId,
        defined({ rerun: p.rerun, demo: p.demo, secrets: ctx.secrets }),
      );
      const { execution } = handle;
      const head = { executionId: execution.id, rootId: execution.rootId, taskId: execution.taskId };
      if (p.webhook) ctx.webhooks.deliver(p.webhook, (signal) => handle.events({ signal }));
      if (p.stream) return stream(head, (signal) => handle.events({ signal }));
      if (p.wait) {
        const outcome = await handle.done;
        return { ...head, status: outcome.status, tasks: outcome.tasks };
      }
      return { ...head, status: execution.status };
    },
  }),
  define({
    name: "tasks.cancel",
    summary: "Cancel a task, or a whole tree through its root (idempotent)",
    params: S.cancelParams,
    handler: (p, ctx) => ctx.service.cancel(ctx.principal, p.taskId, p.reason),
  }),
  define({
    name: "tasks.running.list",
    summary: "Executions running now",
    params: S.runningListParams,
    handler: async (p, ctx) => ({ executions: await ctx.service.runningExecutions(ctx.principal, p.limit) }),
  }),
  define({
    name: "tasks.running.status",
    summary: "Status and progress of several tasks",
    params: S.runningStatusParams,
    handler: async (p, ctx) => ({ statuses: await ctx.service.runningStatus(ctx.principal, p.taskIds) }),
  }),
  define({
    name: "tasks.running.count",
    summary: "How many executions run now",
    params: S.emptyParams,
    handler: async (_p, ctx) => ({ count: (await ctx.service.runningExecutions(ctx.principal, 100_000)).length }),
  }),
  define({
    name: "tasks.events",
    summary: "Persisted events after a seq; stream: follow them live as SSE until the tree finishes",
    params: S.eventsParams,
    streams: true,
    handler: async (p, ctx) => {
      const query = defined({ taskId: p.taskId, rootId: p.rootId, executionId: p.executionId });
      if (!p.stream) return ctx.service.events(ctx.principal, { ...query, afterSeq: p.afterSeq, limit: p.limit });
      const rootId = await ctx.service.resolveRoot(ctx.principal, query);
      const afterSeq = ctx.lastEventId ?? p.afterSeq;
      const running = await ctx.service.latestExecution(rootId);
      if (running?.status !== "running" || (p.executionId && p.executionId !== running.id)) {
        // Nothing live to follow: replay what is stored and end.
        return stream({ rootId, executionId: p.executionId ?? null }, () => replay(ctx, { ...query, afterSeq }));
      }
      return stream({ rootId, executionId: running.id }, (signal) =>
        ctx.service.engine.subscribe({ ...query, rootId, executionId: running.id, afterSeq, signal }),
      );
    },
  }),
  define({
    name: "tasks.queue.stats",
    summary: "Task counts by status and running executions",
    params: S.emptyParams,
    handler: (_p, ctx) => ctx.service.queueStats(ctx.principal),
  }),
  define({
    name: "tasks.generate",
    summary: "Turn a natural-language requirement into a task array (needs the generate_tree executor)",
    params: S.generateParams,
    handler: async (p, ctx) => {
      if (!ctx.service.registry.hasExecutor("generate_tree")) {
        throw new ApflowError(
          ErrorCode.ExecutorNotFound,
          "executor not found: generate_tree (load the ext-llm-agents plugin)",
          {
            executorId: "generate_tree",
          },
        );
      }
      const created = await ctx.service.create(ctx.principal, [
        {
          name: "generate_tree",
          params: { ...(p.params ?? {}), executorId: "generate_tree" },
          inputs: { ...(p.inputs ?? {}), requirement: p.requirement },
        },
      ]);
      const handle = await ctx.service.execute(ctx.principal, created.rootId, defined({ secrets: ctx.secrets }));
      const outcome = await handle.done;
      const task = outcome.tasks[0] as Task;
      if (outcome.status !== "completed") {
        // The requirement (or the tree made from it) was invalid: the caller's to fix, so say why.
        if (task.error && GENERATE_VALIDATION_CODES.has(task.error.code)) {
          throw new ApflowError(ErrorCode.InvalidParams, task.error.message, {
            taskId: task.id,
            error: task.error as unknown as JsonObject,
          });
        }
        // Anything else (provider errors, configuration, bugs) is ours: logged, not shown.
        ctx.log.error({ taskId: task.id, error: task.error ?? null, status: outcome.status }, "tree generation failed");
        throw new ApflowError(ErrorCode.Internal, "internal error", { taskId: task.id });
      }
      return { taskId: task.id, result: task.result };
    },
  }),
  define({
    name: "executors.list",
    summary: "Executors that may run here, with their JSON Schemas",
    params: S.emptyParams,
    handler: async (_p, ctx) => ({ executors: ctx.service.registry.listExecutors() }),
  }),
  define({
    name: "system.health",
    summary: "Liveness and basic facts",
    params: S.emptyParams,
    handler: async (_p, ctx) => ({
      status: "ok",
      version: ctx.version,
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      engine: ctx.service.engine.running ? "running" : "idle",
    }),
  }),
];

export const METHOD_MAP: ReadonlyMap<string, MethodDefinition> = new Map(METHODS.map((m) => [m.name, m]));

/** Run a method by name (JSON-RPC route, A2A `metadata.method`): lookup, params, handler. */
export async function invokeMethod(name: string, rawParams: unknown, ctx: MethodContext): Promise<unknown> {
  const method = METHOD_MAP.get(name);
  if (!method) throw new ApflowError(ErrorCode.MethodNotFound, `method not found: ${name}`, { method: name });
  return method.handler(parseParams(method, rawParams), ctx);
}

function requireOne(value: string | undefined, name: string): string {
  if (value) return value;
  throw new ValidationError([{ path: `params.${name}`, code: "required", message: `${name} is required` }]);
}

/** A reconnecting SSE client (Last-Event-ID) resumes the tree's latest execution instead of starting one. */
async function resumeStream(taskId: string, ctx: MethodContext): Promise<EventStream | null> {
  const task = await ctx.service.get(ctx.principal, taskId);
  const execution = await ctx.service.latestExecution(task.rootId);
  if (!execution) return null;
  const head = { executionId: execution.id, rootId: execution.rootId, taskId: execution.taskId };
  if (execution.status !== "running") {
    return stream(head, () =>
      replay(ctx, { executionId: execution.id, rootId: execution.rootId, afterSeq: ctx.lastEventId ?? 0 }),
    );
  }
  return stream(head, (signal) =>
    ctx.service.engine.subscribe({
      executionId: execution.id,
      rootId: execution.rootId,
      afterSeq: ctx.lastEventId ?? 0,
      signal,
    }),
  );
}

/** Stored events after `afterSeq`, page by page, ending at the end of the log. */
async function* replay(
  ctx: MethodContext,
  query: { taskId?: string; rootId?: string; executionId?: string; afterSeq: number },
): AsyncGenerator<TaskEvent> {
  let after = query.afterSeq;
  for (;;) {
    const page = await ctx.service.events(ctx.principal, { ...query, afterSeq: after, limit: 1000 });
    for (const e of page.events) yield e;
    if (page.events.length < 1000) return;
    after = page.lastSeq;
  }
}
