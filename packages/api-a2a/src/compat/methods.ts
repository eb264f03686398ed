import {
  ApflowError,
  ErrorCode,
  type Logger,
  type Task,
  type TaskInput,
  type TaskPatch,
  ValidationError,
  type ValidationIssue,
  zodIssues,
} from "@aipartnerupflow/core";
import { z } from "zod";
import { toRpcError } from "../errors.js";
import * as S from "../jsonrpc/schemas.js";
import type { WebhookDispatcher } from "../jsonrpc/webhook.js";
import type { TaskService } from "../service/task-service.js";
import type { Principal } from "../types.js";
import { type CompatStream, compatEvents } from "./events.js";
import { nodeOut, originalName, ourName, renameIn, taskIn, taskOut } from "./fields.js";
import type { LlmKeyVault } from "./llm-keys.js";

/** What the compatibility methods use: the same service, webhooks and facts as `/tasks`. */
export interface CompatDeps {
  service: TaskService;
  webhooks: WebhookDispatcher;
  /** `null` when the operator turned stored LLM keys off. */
  vault: LlmKeyVault | null;
  name: string;
  version: string;
  startedAt: number;
}

export interface CompatCall {
  principal: Principal;
  /** `X-LLM-API-KEY` of this request as executor secrets. */
  secrets: Record<string, string> | undefined;
  log: Logger;
}

export type Handler = (params: unknown, call: CompatCall, deps: CompatDeps) => Promise<unknown>;

const idList = z.union([z.array(S.taskIdParams.shape.taskId).max(1000), z.string().max(100_000)]).transform((v) =>
  typeof v === "string"
    ? v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean)
    : v,
);

const webhookConfig = S.webhookSchema.extend({
  method: z
    .string()
    .refine((m) => m.toUpperCase() === "POST", { error: "webhooks are always POSTed; method may only be POST" })
    .optional(),
  timeout: z.number().positive().optional().describe("accepted; the operator's webhook settings apply"),
  max_retries: z.number().int().min(0).optional().describe("accepted; the operator's webhook settings apply"),
});

const executeParams = z.object({
  taskId: S.taskIdParams.shape.taskId.optional(),
  tasks: z.array(z.record(z.string(), z.unknown())).min(1).optional(),
  stream: z.boolean().default(false),
  demo: z.boolean().optional(),
  webhook: webhookConfig.optional(),
  copy_execution: z.boolean().default(false),
  copy_children: z.boolean().default(false),
  rerun: S.executeParams.shape.rerun,
  wait: z.boolean().default(false),
});

const cancelParams = z.object({
  taskIds: idList.optional(),
  taskId: S.taskIdParams.shape.taskId.optional(),
  force: z.boolean().default(false),
  reason: S.cancelParams.shape.reason,
});

const runningListParams = z.object({
  userId: z.string().nullable().optional(),
  limit: S.runningListParams.shape.limit,
});
const runningStatusParams = z.object({ taskIds: idList.default([]) });
const runningCountParams = z.object({ userId: z.string().nullable().optional() });
const copyParams = S.copyParams.extend({ children: z.boolean().optional() });
const llmKeyParams = z.object({
  api_key: z.string().optional(),
  provider: z.string().nullable().optional(),
  userId: z.string().min(1).max(200).nullable().optional(),
});

/** Update fields the original accepted that we refuse, each with the reason. */
const REFUSED_UPDATES: Record<string, string> = {
  status: "status changes only by running or cancelling (tasks.execute, tasks.cancel)",
  result: "a result is written only by the task's executor",
  error: "an error is written only by the task's executor",
  progress: "progress is reported only by the task's executor",
  started_at: "timestamps are kept by the engine",
  completed_at: "timestamps are kept by the engine",
  parent_id: "the tree's structure cannot change after creation",
  user_id: "a task's owner cannot change",
  dependencies: "dependencies cannot change after creation; copy the tree instead",
};

const KEEP_NULL = new Set(["runAt", "retry"]);

/**
 * Params from the original's names to ours (the rename table), validated by `schema`. Issues
 * name the parameter as the caller spelled it.
 */
function read<T extends z.ZodType>(schema: T, raw: unknown): z.output<T> {
  const params = raw === undefined || raw === null ? {} : raw;
  if (typeof params !== "object" || Array.isArray(params)) {
    throw new ValidationError([{ path: "params", code: "invalid_type", message: "params must be an object" }]);
  }
  // The original read params with `.get()`: a null is an absent parameter (except where null means "clear").
  const given = Object.fromEntries(
    Object.entries(params as Record<string, unknown>).filter(
      ([k, v]) => v !== null || KEEP_NULL.has(ourName("params", k)),
    ),
  );
  const named = renameIn("params", given);
  if (named.taskId === undefined && typeof named.id === "string") named.taskId = named.id;
  const parsed = schema.safeParse(named);
  if (!parsed.success) throw new ValidationError(zodIssues(parsed.error, "params").map((i) => spelled(i, given)));
  return parsed.data;
}

function spelled(issue: ValidationIssue, given: Record<string, unknown>): ValidationIssue {
  const [head, name, ...rest] = issue.path.split(".");
  if (head !== "params" || name === undefined || name in given) return issue;
  const original = Object.keys(given).find((k) => ourName("params", k) === name);
  return original ? { ...issue, path: ["params", original, ...rest].join("."), message: issue.message } : issue;
}

function defined<T extends object>(obj: T): T {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as T;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The task items of a creation request in our spelling. The original's clients choose ids
 * (its web app always does); only admins may here, so for anyone else ids are dropped and the
 * references to them (`parent_id`, `dependencies`) rewritten to the tasks' names, which must
 * then be unique. The generated ids come back in the answer.
 */
function creationItems(params: unknown, principal: Principal): unknown[] {
  let items: unknown[];
  if (Array.isArray(params)) items = params;
  else if (isObject(params) && Array.isArray(params.tasks) && params.name === undefined) items = params.tasks;
  else if (isObject(params)) items = [params];
  else
    throw new ValidationError([
      { path: "params", code: "invalid_type", message: "params must be a task or an array of tasks" },
    ]);
  if (items.length === 0) {
    throw new ValidationError([{ path: "params", code: "too_small", message: "the tasks array cannot be empty" }]);
  }
  const tasks = items.map(taskIn);
  return principal.admin ? tasks : withoutChosenIds(tasks);
}

function withoutChosenIds(tasks: unknown[]): unknown[] {
  const names = new Map<string, string>();
  const seen = new Map<string, number>();
  const issues: ValidationIssue[] = [];
  tasks.forEach((t, i) => {
    if (!isObject(t)) return;
    if (typeof t.name === "string") {
      const first = seen.get(t.name);
      if (first !== undefined && tasks.some((x) => isObject(x) && x.id !== undefined)) {
        issues.push({
          path: `params[${i}].name`,
          code: "duplicate_name",
          message: `tasks are referred to by name here (only admins may choose ids), so "${t.name}" must be unique`,
        });
      }
      seen.set(t.name, i);
      if (typeof t.id === "string") names.set(t.id, t.name);
    }
  });
  if (issues.length > 0) throw new ValidationError(issues);
  if (names.size === 0) return tasks;
  const ref = (v: unknown): unknown => (typeof v === "string" ? (names.get(v) ?? v) : v);
  return tasks.map((t) => {
    if (!isObject(t)) return t;
    const { id: _id, ...rest } = t;
    if (rest.parentId !== undefined) rest.parentId = ref(rest.parentId);
    if (Array.isArray(rest.dependencies)) {
      rest.dependencies = rest.dependencies.map((d: unknown) => (isObject(d) ? { ...d, id: ref(d.id) } : ref(d)));
    }
    return rest;
  });
}

/** A task array of a copy preview (`save: false`) in the original's spelling. */
function inputOut(t: TaskInput): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(t)) out[originalName("task", k)] = v;
  if (t.schemas) {
    out.schemas = Object.fromEntries(Object.entries(t.schemas).map(([k, v]) => [originalName("schemas", k), v]));
  }
  if (t.error !== undefined) out.error = t.error ? t.error.message : null;
  return out;
}

/** Whose stored LLM keys a call reads or writes: the caller's; with auth off, `user_id` or "default". */
function keyOwner(principal: Principal, requested: string | null | undefined): string {
  if (!principal.authenticated) return requested ?? "default";
  const own = principal.userId as string;
  if (requested && requested !== own && !principal.admin) {
    throw new ApflowError(ErrorCode.Unauthorized, "you may only manage your own LLM keys", { userId: requested });
  }
  return requested ?? own;
}

function vaultOf(deps: CompatDeps): LlmKeyVault {
  if (deps.vault) return deps.vault;
  throw new ApflowError(
    ErrorCode.Unauthorized,
    "stored LLM keys are turned off on this server; send the key with each request in the X-LLM-API-KEY header",
  );
}

/** Stored keys of the task's owner, overridden by the request's `X-LLM-API-KEY`. */
function secretsFor(call: CompatCall, deps: CompatDeps, task: Task): Record<string, string> | undefined {
  const owner = call.principal.authenticated ? call.principal.userId : (task.userId ?? "default");
  const stored = deps.vault && owner ? deps.vault.secrets(owner) : undefined;
  if (!stored) return call.secrets;
  return { ...stored, ...(call.secrets ?? {}) };
}

async function cancelOne(
  id: string,
  force: boolean,
  reason: string | undefined,
  call: CompatCall,
  deps: CompatDeps,
): Promise<Record<string, unknown>> {
  try {
    const message = reason ?? (force ? "Force cancelled by user" : "Cancelled by user");
    const done = await deps.service.cancel(call.principal, id, message);
    const task = await deps.service.get(call.principal, id);
    const cancelled = done.cancelled.length > 0 || done.running.length > 0;
    return {
      task_id: id,
      status: cancelled ? "cancelled" : task.status,
      message: cancelled
        ? `cancelled ${done.cancelled.length + done.running.length} task(s)`
        : `task is ${task.status}`,
      force,
      cancelled_task_ids: [...done.cancelled, ...done.running],
    };
  } catch (err) {
    const error = toRpcError(err);
    if (error.code === ErrorCode.Internal) call.log.error({ taskId: id }, "compat cancel failed");
    return { task_id: id, status: "failed", error: error.message, code: error.code, force };
  }
}

export const TASK_METHODS: Record<string, Handler> = {
  "tasks.create": async (params, call, { service }) => {
    const { tasks } = read(S.createParams, { tasks: creationItems(params, call.principal) });
    const created = await service.create(call.principal, tasks, { single: true });
    const node = nodeOut(created.tasks, created.rootId);
    return { ...node, root_task_id: created.rootId, task_count: created.tasks.length };
  },

  "tasks.get": async (params, call, { service }) => {
    const { taskId } = read(S.taskIdParams, params);
    return taskOut(await service.get(call.principal, taskId));
  },

  "tasks.detail": async (params, call, { service }) => {
    const { taskId } = read(S.taskIdParams, params);
    return nodeOut(await service.tree(call.principal, taskId), taskId);
  },

  "tasks.tree": async (params, call, { service }) => {
    const p = read(S.treeParams, params);
    const id = p.taskId ?? p.rootId;
    if (!id) {
      throw new ValidationError([
        { path: "params.task_id", code: "required", message: "task_id or root_id is required" },
      ]);
    }
    const tasks = await service.tree(call.principal, id);
    return nodeOut(tasks, (tasks[0] as Task).rootId);
  },

  "tasks.update": async (params, call, { service }) => {
    if (isObject(params)) {
      const refused = Object.keys(params).filter((k) =>
        k in REFUSED_UPDATES ? true : originalName("task", k) in REFUSED_UPDATES,
      );
      const issues = refused.map((k) => ({
        path: `params.${k}`,
        code: "not_updatable",
        message: `${k} cannot be updated: ${REFUSED_UPDATES[k] ?? REFUSED_UPDATES[originalName("task", k)]}`,
      }));
      if (issues.length > 0) throw new ValidationError(issues);
    }
    const raw =
      isObject(params) && isObject(params.schemas)
        ? { ...params, schemas: renameIn("schemas", params.schemas) }
        : params;
    const { taskId, ...patch } = read(S.updateParams, raw);
    return taskOut(await service.update(call.principal, taskId, defined(patch) as TaskPatch));
  },

  "tasks.delete": async (params, call, { service }) => {
    const { taskId } = read(S.taskIdParams, params);
    const { deleted } = await service.delete(call.principal, taskId);
    return { success: true, task_id: taskId, deleted_count: deleted.length, children_deleted: deleted.length - 1 };
  },

  "tasks.list": async (params, call, { service }) => {
    const p = read(S.listParams, isObject(params) ? { root_only: true, ...params } : params);
    const { tasks } = await service.list(call.principal, defined(p));
    return tasks.map(taskOut);
  },

  "tasks.children": async (params, call, { service }) => {
    const p = read(S.childrenParams, params);
    const id = p.parentId ?? p.taskId;
    if (!id) {
      throw new ValidationError([
        { path: "params.parent_id", code: "required", message: "parent_id or task_id is required" },
      ]);
    }
    return (await service.children(call.principal, id)).map(taskOut);
  },

  "tasks.copy": async (params, call, { service }) => {
    const raw =
      isObject(params) && Array.isArray(params.reset_fields)
        ? { ...params, reset_fields: params.reset_fields.map((f) => (typeof f === "string" ? ourName("task", f) : f)) }
        : params;
    const { taskId, children: _children, ...options } = read(copyParams, raw);
    const out = await service.copy(call.principal, taskId, defined(options));
    if (!options.save) return { tasks: (out as TaskInput[]).map(inputOut), saved: false };
    const tasks = out as Task[];
    const root = tasks.find((t) => t.parentId === null) ?? (tasks[0] as Task);
    return nodeOut(tasks, root.id);
  },

  "tasks.execute": async (params, call, deps) => {
    const { service, webhooks } = deps;
    const p = read(executeParams, params);
    if (p.webhook) {
      const problem = await webhooks.problem(p.webhook.url);
      if (problem) {
        throw new ApflowError(ErrorCode.InvalidParams, problem, {
          errors: [{ path: "params.webhook_config.url", code: "forbidden_url", message: problem }],
        });
      }
    }
    let taskId = p.taskId;
    if (!taskId && p.tasks) {
      const tasks = creationItems(p.tasks, call.principal);
      taskId = (await service.create(call.principal, read(S.createParams, { tasks }).tasks, { single: true })).rootId;
    }
    if (!taskId) {
      throw new ValidationError([
        { path: "params.task_id", code: "required", message: "task_id or a tasks array is required" },
      ]);
    }
    let originalTaskId: string | undefined;
    if (p.copy_execution) {
      originalTaskId = taskId;
      const copied = (await service.copy(call.principal, taskId, { mode: "minimal", save: true })) as Task[];
      taskId = (copied.find((t) => t.originalTaskId === originalTaskId) ?? (copied[0] as Task)).id;
    }
    const task = await service.get(call.principal, taskId);
    const handle = await service.execute(
      call.principal,
      taskId,
      defined({ rerun: p.rerun, demo: p.demo, secrets: secretsFor(call, deps, task) }),
    );
    const { execution } = handle;
    const head: Record<string, unknown> = {
      success: true,
      protocol: "jsonrpc",
      root_task_id: execution.rootId,
      task_id: execution.taskId,
      execution_id: execution.id,
      status: "started",
      message: "Task execution started",
      ...(originalTaskId ? { original_task_id: originalTaskId } : {}),
      ...(p.webhook ? { streaming: true, webhook_url: p.webhook.url } : {}),
    };
    if (p.webhook) {
      webhooks.deliver(defined({ url: p.webhook.url, headers: p.webhook.headers }), (signal) =>
        handle.events({ signal }),
      );
    }
    if (p.stream) {
      const abort = new AbortController();
      const outcome = async (rootId: string) => {
        const root = await service.get(call.principal, rootId);
        return { result: root.result, error: root.error?.message ?? null, errorCode: root.error?.code ?? null };
      };
      const stream: CompatStream = {
        kind: "compat-stream",
        head: { ...head, streaming: true, message: "Task execution started with streaming" },
        events: compatEvents(handle.events({ signal: abort.signal }), outcome),
        abort,
      };
      return stream;
    }
    if (p.wait) {
      const done = await handle.done;
      return { ...head, status: done.status, message: `Task execution ${done.status}` };
    }
    return head;
  },

  "tasks.cancel": async (params, call, deps) => {
    const p = read(cancelParams, params);
    const ids = p.taskIds ?? (p.taskId ? [p.taskId] : []);
    const out: Array<Record<string, unknown>> = [];
    for (const id of ids) out.push(await cancelOne(id, p.force, p.reason, call, deps));
    return out;
  },

  "tasks.running.list": async (params, call, { service }) => {
    const p = read(runningListParams, params);
    const executions = await service.runningExecutions(call.principal, p.limit);
    const out: Array<Record<string, unknown>> = [];
    for (const e of executions) {
      if (p.userId !== undefined && p.userId !== null && e.userId !== p.userId) continue;
      const task = await service.get(call.principal, e.taskId).catch(() => null);
      if (task) out.push({ ...taskOut(task), execution_id: e.id });
    }
    return out;
  },

  "tasks.running.status": async (params, call, { service }) => {
    const { taskIds } = read(runningStatusParams, params);
    if (taskIds.length === 0) return [];
    const statuses = await service.runningStatus(call.principal, taskIds);
    const out: Array<Record<string, unknown>> = [];
    for (const s of statuses) {
      const task = s.found ? await service.get(call.principal, s.taskId).catch(() => null) : null;
      out.push({
        task_id: s.taskId,
        context_id: s.taskId,
        status: task ? task.status : "not_found",
        progress: task ? task.progress : 0,
        error: task?.error?.message ?? null,
        is_running: s.running,
        started_at: task?.startedAt ?? null,
        updated_at: task?.updatedAt ?? null,
        execution_id: s.executionId ?? null,
      });
    }
    return out;
  },

  "tasks.running.count": async (params, call, { service }) => {
    const p = read(runningCountParams, params);
    const executions = await service.runningExecutions(call.principal, 100_000);
    const filter = p.userId ?? (call.principal.admin ? undefined : call.principal.userId);
    const count = filter ? executions.filter((e) => e.userId === filter).length : executions.length;
    return filter ? { count, user_id: filter } : { count };
  },
};
TASK_METHODS["tasks.running.cancel"] = TASK_METHODS["tasks.cancel"] as Handler;

export const SYSTEM_METHODS: Record<string, Handler> = {
  "system.health": async (_params, call, { service, name, version, startedAt }) => ({
    status: "healthy",
    message: `${name} is healthy`,
    version,
    timestamp: new Date().toISOString(),
    uptime: Math.round((Date.now() - startedAt) / 1000),
    running_tasks_count: (await service.runningExecutions(call.principal, 100_000)).length,
  }),

  "config.llm_key.set": async (params, call, deps) => {
    const vault = vaultOf(deps);
    const p = read(llmKeyParams, params);
    const user = keyOwner(call.principal, p.userId);
    const provider = vault.set(user, p.api_key, p.provider);
    return { success: true, user_id: user, provider };
  },

  "config.llm_key.get": async (params, call, deps) => {
    const vault = vaultOf(deps);
    const p = read(llmKeyParams, params);
    const user = keyOwner(call.principal, p.userId);
    return {
      has_key: vault.has(user, p.provider),
      user_id: user,
      provider: p.provider ?? null,
      providers: vault.providers(user),
    };
  },

  "config.llm_key.delete": async (params, call, deps) => {
    const vault = vaultOf(deps);
    const p = read(llmKeyParams, params);
    const user = keyOwner(call.principal, p.userId);
    const deleted = vault.delete(user, p.provider);
    return { success: true, user_id: user, deleted, provider: p.provider || "all" };
  },
};

/** Every method name the surface answers, per route (for docs and tests). */
export const COMPAT_METHODS = { tasks: Object.keys(TASK_METHODS), system: Object.keys(SYSTEM_METHODS) };
