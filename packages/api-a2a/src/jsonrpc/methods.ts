import {
  ApflowError,
  deriveIdempotencyKey,
  ErrorCode,
  type JsonObject,
  type JsonValue,
  type Task,
  type TaskEvent,
  type TaskPatch,
  ValidationError,
  zodIssues,
} from "@aipartnerupflow/core";
import { z } from "zod";
import { planTree } from "../service/plan.js";
import { nestTree } from "../service/tree.js";
import { camelKeys, camelTasks } from "./aliases.js";
import type { EventStream, MethodContext } from "./context.js";
import * as R from "./results.js";
import * as S from "./schemas.js";
import { type Elicitor, followAnswering } from "../mcp/elicit.js";
import { LIMIT_METHODS } from "./limit-methods.js";
import { SCHEDULE_METHODS } from "./schedule-methods.js";
import { NODE_METHODS } from "./node-methods.js";

/** What an MCP tool call offers besides its arguments (progress notifications, cancellation). */
export interface ToolCallExtra {
  progressToken: string | number | undefined;
  sendProgress(progress: number, total: number | undefined, message: string): Promise<void>;
  signal: AbortSignal;
  /** Asks the client (an elicitation); present when it declared the elicitation capability. */
  elicit?: Elicitor;
}

/** How a method is offered as an MCP tool (same params schema, same handler, unless overridden). */
export interface McpToolSpec {
  /** The tool's name. */
  tool: string;
  title: string;
  /** Tool description; the method's summary when omitted. */
  description?: string;
  /** The params the tool takes, derived from the method's (e.g. without `stream`). */
  params?: z.ZodObject;
  /** A tool-specific run (progress while waiting); the method's handler otherwise. */
  call?(params: Record<string, unknown>, ctx: MethodContext, extra: ToolCallExtra): Promise<unknown>;
}

/**
 * One operation, defined once: its name, params (validation, MCP tool input, OpenAPI), result
 * (OpenAPI), the error codes it may answer besides the ones every method may (-32600, -32602,
 * -32603), and its handler. The JSON-RPC route, A2A `metadata.method` and the MCP tools all run
 * operations from this table.
 */
export interface MethodDefinition<P extends z.ZodType = z.ZodType> {
  name: string;
  summary: string;
  params: P;
  /** The params as documented, when validation is looser than the description (task arrays). */
  docParams?: z.ZodType;
  result: z.ZodType;
  errors: readonly number[];
  /** Whether the method may answer with an SSE stream (`stream: true`). */
  streams?: boolean;
  mcp?: McpToolSpec;
  handler(params: z.output<P>, ctx: MethodContext): Promise<unknown>;
}

/** Codes any method may answer. */
export const COMMON_ERRORS: readonly number[] = [ErrorCode.InvalidRequest, ErrorCode.InvalidParams, ErrorCode.Internal];

const NOT_FOUND = [ErrorCode.TaskNotFound] as const;
const TREE_ERRORS = [
  ErrorCode.CircularDependency,
  ErrorCode.ExecutorNotFound,
  ErrorCode.InvalidTask,
  ErrorCode.InvalidParent,
  ErrorCode.InvalidDependency,
  ErrorCode.TreeValidationFailed,
] as const;

/** Task error codes of a generation that failed on its input: -32602, the rest -32603. */
const GENERATE_VALIDATION_CODES = new Set<string>(["INVALID_INPUTS", "INVALID_TREE"]);

function define<P extends z.ZodType>(def: MethodDefinition<P>): MethodDefinition {
  return def as unknown as MethodDefinition;
}

/** Validate params against a method's schema, after alias normalisation. */
export function parseParams(method: MethodDefinition, raw: unknown): unknown {
  return normalise(method, raw, method.params);
}

function normalise(method: MethodDefinition, raw: unknown, schema: z.ZodType): unknown {
  let params: unknown = raw === undefined || raw === null ? {} : raw;
  if (method.name === "tasks.create" && Array.isArray(params)) params = { tasks: params };
  if (typeof params !== "object" || Array.isArray(params)) {
    throw new ValidationError([{ path: "params", code: "invalid_type", message: "params must be an object" }]);
  }
  const named = camelKeys(params) as Record<string, unknown>;
  if (named.taskId === undefined && typeof named.id === "string") named.taskId = named.id;
  if (method.name === "tasks.create") named.tasks = camelTasks(named.tasks);
  const parsed = schema.safeParse(named);
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
    docParams: S.createParamsDoc,
    result: R.createResult,
    errors: [...TREE_ERRORS, ErrorCode.Unauthorized],
    mcp: {
      tool: "create_tasks",
      title: "Create a task tree",
      description:
        "Validate and store a flat task array (parentId and dependencies refer by id or name). Returns the created tasks and the root id.",
    },
    handler: (p, ctx) => ctx.service.create(ctx.principal, p.tasks, defined({ idempotencyKey: p.idempotencyKey })),
  }),
  define({
    name: "tasks.get",
    summary: "One task",
    params: S.taskIdParams,
    result: R.taskWithWaitingSchema,
    errors: NOT_FOUND,
    mcp: {
      tool: "get_task",
      title: "Get a task",
      description: "One task with its status, result and error, and why it waits when pending.",
    },
    handler: (p, ctx) => ctx.service.getWithWaiting(ctx.principal, p.taskId),
  }),
  define({
    name: "tasks.detail",
    summary: "One task with its attempt history and its tree's executions",
    params: S.taskIdParams,
    result: R.detailResult,
    errors: NOT_FOUND,
    handler: (p, ctx) => ctx.service.detail(ctx.principal, p.taskId),
  }),
  define({
    name: "tasks.update",
    summary: "Change what a task that is not running will do",
    params: S.updateParams,
    result: R.taskSchema,
    errors: [...NOT_FOUND, ErrorCode.InvalidTransition],
    handler: (p, ctx) => {
      const { taskId, ...patch } = p;
      return ctx.service.update(ctx.principal, taskId, defined(patch) as TaskPatch);
    },
  }),
  define({
    name: "tasks.delete",
    summary: "Delete a task and its descendants",
    params: S.taskIdParams,
    result: R.deleteResult,
    errors: [...NOT_FOUND, ErrorCode.CannotDelete],
    handler: (p, ctx) => ctx.service.delete(ctx.principal, p.taskId),
  }),
  define({
    name: "tasks.list",
    summary: "Tasks, newest first, filtered and paginated",
    params: S.listParams,
    result: R.listResult,
    errors: [],
    mcp: { tool: "list_tasks", title: "List tasks", description: "Tasks, newest first." },
    handler: (p, ctx) => ctx.service.list(ctx.principal, defined(p)),
  }),
  define({
    name: "tasks.count",
    summary: "Task counts by status",
    params: S.countParams,
    result: R.countResult,
    errors: NOT_FOUND,
    mcp: { tool: "count_tasks", title: "Count tasks", description: "Task counts by status." },
    handler: (p, ctx) => ctx.service.count(ctx.principal, defined(p)),
  }),
  define({
    name: "tasks.tree",
    summary: "The whole tree of a task, nested by parent (or flat)",
    params: S.treeParams,
    result: R.treeResult,
    errors: NOT_FOUND,
    mcp: {
      tool: "get_task_tree",
      title: "Get a tree",
      description: "The whole tree of a task, nested by parent (format: flat for a list, roots first).",
    },
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
    result: R.childrenResult,
    errors: NOT_FOUND,
    handler: async (p, ctx) => ({
      tasks: await ctx.service.children(ctx.principal, requireOne(p.parentId ?? p.taskId, "parentId")),
    }),
  }),
  define({
    name: "tasks.copy",
    summary: "Copy part of a tree for re-execution (modes minimal, full, custom)",
    params: S.copyParams,
    result: R.copyResult,
    errors: [...NOT_FOUND, ...TREE_ERRORS],
    mcp: {
      tool: "copy_task",
      title: "Copy for re-execution",
      description: "Copy part of a tree (minimal, full or custom) as a new tree linked to the original.",
    },
    handler: async (p, ctx) => {
      const { taskId, run, ...options } = p;
      if (run && !p.save) {
        throw new ValidationError([
          { path: "params.run", code: "run_needs_save", message: "run: true needs save: true" },
        ]);
      }
      const tasks = await ctx.service.copy(ctx.principal, taskId, defined(options));
      const root = tasks[0] as { id?: string; rootId?: string } | undefined;
      const rootId = p.save ? (root?.rootId ?? null) : null;
      if (!run || rootId === null) return { saved: p.save, rootId, tasks };
      const key = p.idempotencyKey;
      const handle = await ctx.service.execute(
        ctx.principal,
        rootId,
        defined({
          secrets: ctx.secrets,
          idempotencyKey: key === undefined ? undefined : deriveIdempotencyKey(key, "copy-run"),
        }),
      );
      return defined({ saved: true, rootId, tasks, executionId: handle.execution.id, replayed: handle.replayed });
    },
  }),
  define({
    name: "tasks.execute",
    summary: "Run a tree (or a task with what it needs); stream: SSE events, webhook: POSTed events, wait: the outcome",
    params: S.executeParams,
    streams: true,
    result: R.executeResult,
    errors: [...NOT_FOUND, ErrorCode.AlreadyExecuting, ErrorCode.DependenciesNotSatisfied, ErrorCode.ExecutorNotFound],
    mcp: {
      tool: "execute_task",
      title: "Execute a tree",
      description:
        "Run a tree (or one task with what it needs). Waits for the outcome by default, reporting progress; wait=false returns at once.",
      params: S.executeParams
        .omit({ stream: true, webhook: true })
        .extend({ wait: z.boolean().default(true).describe("wait for the outcome (default true)") }),
      call: executeTool,
    },
    handler: async (p, ctx) => {
      if (p.stream && ctx.lastEventId !== undefined) {
        const resumed = await resumeStream(p.taskId, ctx);
        if (resumed) return resumed;
      }
      if (p.webhook) {
        if (!ctx.webhooks) {
          throw new ApflowError(ErrorCode.InvalidParams, "webhooks are not available on this surface", {
            errors: [{ path: "webhook", code: "unsupported", message: "webhooks are not available on this surface" }],
          });
        }
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
        defined({ rerun: p.rerun, demo: p.demo, secrets: ctx.secrets, idempotencyKey: p.idempotencyKey }),
      );
      const { execution } = handle;
      const head = { executionId: execution.id, rootId: execution.rootId, taskId: execution.taskId };
      // A repeat (same idempotencyKey) does nothing else: the first request's webhook delivers.
      if (p.webhook && !handle.replayed) ctx.webhooks?.deliver(p.webhook, (signal) => handle.events({ signal }));
      if (p.stream) return stream(head, (signal) => handle.events({ signal }));
      const replayed = handle.replayed ? { replayed: true } : {};
      if (p.wait) {
        const outcome = await handle.done;
        return { ...head, status: outcome.status, tasks: outcome.tasks, ...replayed };
      }
      return { ...head, status: execution.status, ...replayed };
    },
  }),
  define({
    name: "tasks.cancel",
    summary: "Cancel a task, or a whole tree through its root (idempotent)",
    params: S.cancelParams,
    result: R.cancelResult,
    errors: NOT_FOUND,
    mcp: { tool: "cancel_task", title: "Cancel", description: "Cancel a task, or a whole tree through its root." },
    handler: (p, ctx) => ctx.service.cancel(ctx.principal, p.taskId, p.reason),
  }),
  define({
    name: "tasks.resume",
    summary: "Answer a waiting task (an approval, an input); the first answer wins",
    params: S.resumeParams,
    result: R.resumeResult,
    errors: [ErrorCode.TaskNotFound, ErrorCode.InvalidTransition, ErrorCode.Unauthorized],
    mcp: {
      tool: "resume_task",
      title: "Answer a waiting task",
      description:
        "Answer a waiting task (an approval: {approved, comment?}; otherwise what its wait's schema asks). With wait (default true), follows the tree on to its outcome, asking further questions by elicitation when the client supports it.",
      // The answer as any JSON (a JSON Schema cannot describe the JSON-RPC params' custom check).
      params: z.object({
        taskId: z.string().min(1).describe("the waiting task"),
        input: z
          .unknown()
          .optional()
          .describe(S.resumeParams.shape.input.description ?? "the answer"),
        wait: z.boolean().default(true).describe("follow the tree to its outcome (default true)"),
      }),
      call: resumeTool,
    },
    handler: (p, ctx) => ctx.service.resume(ctx.principal, { taskId: p.taskId, input: p.input ?? null }),
  }),
  define({
    name: "tasks.signal",
    summary: "Send a named event: resumes every task waiting for it (with the same key)",
    params: S.signalParams,
    result: R.signalResult,
    errors: [],
    handler: (p, ctx) =>
      ctx.service.signal(ctx.principal, { event: p.event, key: p.key ?? null, payload: p.payload ?? null }),
  }),
  define({
    name: "tasks.running.list",
    summary: "Executions running now",
    params: S.runningListParams,
    result: R.runningListResult,
    errors: [],
    handler: async (p, ctx) => ({ executions: await ctx.service.runningExecutions(ctx.principal, p.limit) }),
  }),
  define({
    name: "tasks.running.status",
    summary: "Status and progress of several tasks",
    params: S.runningStatusParams,
    result: R.runningStatusResult,
    errors: [],
    handler: async (p, ctx) => ({ statuses: await ctx.service.runningStatus(ctx.principal, p.taskIds) }),
  }),
  define({
    name: "tasks.running.count",
    summary: "How many executions run now",
    params: S.emptyParams,
    result: R.runningCountResult,
    errors: [],
    handler: async (_p, ctx) => ({ count: (await ctx.service.runningExecutions(ctx.principal, 100_000)).length }),
  }),
  define({
    name: "tasks.events",
    summary: "Persisted events after a seq; stream: follow them live as SSE until the tree finishes",
    params: S.eventsParams,
    streams: true,
    result: R.eventsResult,
    errors: NOT_FOUND,
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
        ctx.service.follow(ctx.principal, { ...query, rootId, executionId: running.id, afterSeq, signal }),
      );
    },
  }),
  define({
    name: "tasks.queue.stats",
    summary: "Task counts by status and running executions",
    params: S.emptyParams,
    result: R.queueStatsResult,
    errors: [],
    handler: (_p, ctx) => ctx.service.queueStats(ctx.principal),
  }),
  define({
    name: "tasks.generate",
    summary: "Turn a natural-language requirement into a task array (needs the generate_tree executor)",
    params: S.generateParams,
    result: R.generateResult,
    errors: [ErrorCode.ExecutorNotFound],
    handler: async (p, ctx) => {
      if (!ctx.service.hasExecutor("generate_tree")) {
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
    name: "tasks.plan",
    summary:
      "Plan, approve, run: turn a plain-language request into a tree (generate_tree) that waits at an approval task before it runs",
    params: S.planParams,
    result: R.planResult,
    errors: [ErrorCode.ExecutorNotFound, ...TREE_ERRORS],
    mcp: {
      tool: "plan_and_run",
      title: "Plan, approve and run a request",
      description:
        "Turn a plain-language request into a task tree, ask for approval of the plan (an elicitation when the client supports it; otherwise answer the approval with resume_task) and run it once approved. Waits for the outcome.",
      call: planTool,
    },
    handler: async (p, ctx) => {
      const planned = await createPlan(p, ctx);
      if (!p.run) return planned;
      const handle = await ctx.service.execute(ctx.principal, planned.rootId, defined({ secrets: ctx.secrets }));
      return { ...planned, executionId: handle.execution.id };
    },
  }),
  define({
    name: "executors.list",
    summary: "Executors that may run here, with their JSON Schemas",
    params: S.emptyParams,
    result: R.executorsResult,
    errors: [],
    mcp: {
      tool: "list_executors",
      title: "List executors",
      description: "Executors that may run here, with their input JSON Schemas.",
    },
    handler: async (_p, ctx) => ({ executors: ctx.service.executors() }),
  }),
  define({
    name: "system.health",
    summary: "Liveness and basic facts",
    params: S.emptyParams,
    result: R.healthResult,
    errors: [],
    handler: async (_p, ctx) => ({
      status: "ok",
      version: ctx.version,
      uptimeSeconds: Math.round((Date.now() - ctx.startedAt) / 1000),
      engine: ctx.service.engineInfo().running ? "running" : "idle",
    }),
  }),
  ...SCHEDULE_METHODS,
  ...NODE_METHODS,
  ...LIMIT_METHODS,
];

export const METHOD_MAP: ReadonlyMap<string, MethodDefinition> = new Map(METHODS.map((m) => [m.name, m]));

export interface InvokeOptions {
  /**
   * Where a stream cannot be answered (a batch, A2A `metadata.method`): the message refusing
   * `stream: true`. The call is refused before the method runs, so nothing starts.
   */
  refuseStream?: string;
}

/** Run a method by name (JSON-RPC route, A2A `metadata.method`): lookup, params, handler. */
export async function invokeMethod(
  name: string,
  rawParams: unknown,
  ctx: MethodContext,
  options: InvokeOptions = {},
): Promise<unknown> {
  const method = METHOD_MAP.get(name);
  if (!method) throw new ApflowError(ErrorCode.MethodNotFound, `method not found: ${name}`, { method: name });
  const params = parseParams(method, rawParams);
  if (options.refuseStream && method.streams && (params as { stream?: unknown }).stream === true) {
    throw new ApflowError(ErrorCode.InvalidRequest, options.refuseStream, {
      errors: [{ path: "params.stream", code: "stream_not_allowed", message: options.refuseStream }],
    });
  }
  return method.handler(params, ctx);
}

/** Run a method as an MCP tool: the tool's params (already checked by the MCP SDK), then its run. */
export async function invokeTool(
  method: MethodDefinition,
  args: Record<string, unknown>,
  ctx: MethodContext,
  extra: ToolCallExtra,
): Promise<unknown> {
  const params = normalise(method, args, method.mcp?.params ?? method.params) as Record<string, unknown>;
  if (method.mcp?.call) return method.mcp.call(params, ctx, extra);
  return method.handler(params, ctx);
}

/** `execute_task`: like `tasks.execute`, waiting by default and reporting progress while it waits. */
async function executeTool(
  params: Record<string, unknown>,
  ctx: MethodContext,
  extra: ToolCallExtra,
): Promise<unknown> {
  const p = params as {
    taskId: string;
    rerun?: "failed" | "all";
    demo?: boolean;
    wait: boolean;
    idempotencyKey?: string;
  };
  const handle = await ctx.service.execute(
    ctx.principal,
    p.taskId,
    defined({ rerun: p.rerun, demo: p.demo, secrets: ctx.secrets, idempotencyKey: p.idempotencyKey }),
  );
  const events = handle.events({ signal: extra.signal });
  const head = {
    executionId: handle.execution.id,
    rootId: handle.execution.rootId,
    ...(handle.replayed ? { replayed: true } : {}),
  };
  if (!p.wait) return { ...head, status: handle.execution.status };
  return {
    ...head,
    ...(await outcomeOf(ctx, extra, {
      total: handle.execution.total,
      events,
      tasks: async () => (await handle.done).tasks,
    })),
  };
}

/**
 * Follow an execution to its end for a tool (asking the client each question on the way, see
 * mcp/elicit.ts): the tree's tasks once it finished, or the open questions while it waits.
 */
export async function outcomeOf(
  ctx: MethodContext,
  extra: ToolCallExtra,
  run: { total: number; events: AsyncGenerator<TaskEvent>; tasks: () => Promise<Task[]> },
): Promise<Record<string, unknown>> {
  const followed = await followAnswering(ctx, extra, { total: run.total, events: run.events });
  if (followed.status === "waiting") return followed;
  const tasks = await run.tasks();
  return {
    status: followed.status,
    tasks: tasks.map((t) => ({ id: t.id, name: t.name, status: t.status, result: t.result, error: t.error })),
  };
}

/** `resume_task`: answer, then (by default) follow the tree like `execute_task` from the answer on. */
async function resumeTool(params: Record<string, unknown>, ctx: MethodContext, extra: ToolCallExtra): Promise<unknown> {
  const p = params as { taskId: string; input?: JsonValue; wait: boolean };
  const task = await ctx.service.get(ctx.principal, p.taskId);
  const before = await ctx.service.events(ctx.principal, { taskId: task.id, afterSeq: 0, limit: 10_000 });
  const answered = await ctx.service.resume(ctx.principal, { taskId: task.id, input: p.input ?? null });
  const head = { taskId: task.id, resumed: answered.resumed, status: answered.task.status };
  const execution = await ctx.service.latestExecution(task.rootId);
  if (!p.wait || execution?.status !== "running") return head;
  const events = ctx.service.follow(ctx.principal, {
    rootId: task.rootId,
    executionId: execution.id,
    afterSeq: before.lastSeq,
    signal: extra.signal,
  });
  return {
    ...head,
    executionId: execution.id,
    rootId: task.rootId,
    ...(await outcomeOf(ctx, extra, {
      total: execution.total,
      events,
      tasks: () => ctx.service.tree(ctx.principal, task.rootId),
    })),
  };
}

/** `tasks.plan` without running: the plan stored as a tree behind its approval. */
async function createPlan(
  p: { requirement: string; model?: string | undefined; executors?: string[] | undefined },
  ctx: MethodContext,
): Promise<{ rootId: string; approvalTaskId: string; generationTaskId: string; tasks: Task[] }> {
  const plan = await planTree(
    ctx.service,
    ctx.principal,
    defined({ requirement: p.requirement, model: p.model, executors: p.executors, secrets: ctx.secrets }),
  );
  const created = await ctx.service.create(ctx.principal, plan.tasks, { single: true });
  const approval = created.tasks.find((t) => t.params.executorId === "approval" && t.metadata.plan !== undefined);
  return {
    rootId: created.rootId,
    approvalTaskId: approval?.id ?? "",
    generationTaskId: plan.generationTaskId,
    tasks: created.tasks,
  };
}

/** `plan_and_run`: plan, then run and follow the tree, asking the client to approve the plan. */
async function planTool(params: Record<string, unknown>, ctx: MethodContext, extra: ToolCallExtra): Promise<unknown> {
  const p = params as { requirement: string; model?: string; executors?: string[]; run: boolean };
  const planned = await createPlan(p, ctx);
  const summary = { rootId: planned.rootId, approvalTaskId: planned.approvalTaskId, plan: planned.tasks.map(brief) };
  if (!p.run) return summary;
  const handle = await ctx.service.execute(ctx.principal, planned.rootId, defined({ secrets: ctx.secrets }));
  const events = handle.events({ signal: extra.signal });
  return {
    ...summary,
    executionId: handle.execution.id,
    ...(await outcomeOf(ctx, extra, {
      total: handle.execution.total,
      events,
      tasks: async () => (await handle.done).tasks,
    })),
  };
}

function brief(t: Task): Record<string, unknown> {
  return { id: t.id, name: t.name, parentId: t.parentId, executorId: t.params.executorId ?? null, inputs: t.inputs };
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
    ctx.service.follow(ctx.principal, {
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
