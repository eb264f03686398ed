import { ErrorCode, type ValidationIssue, ValidationError } from "../errors.js";
import type { Registry } from "../registry/registry.js";

/** What validation needs of a registry. */
export type ExecutorLookup = Pick<Registry, "getExecutor" | "allowLateRegistration">;
import { checkSchema, zodIssues } from "../schema/schema.js";
import { taskInputSchema } from "../task/schemas.js";
import type { JsonObject, NewTask, Priority, RetryPolicy, TaskDependency, TaskSchemas, TaskStatus } from "../types.js";
import { newId } from "../util/ids.js";
import { executorIdOf } from "./executor-id.js";
import type { TaskPlacement } from "../placement/types.js";

export interface ValidateOptions {
  /** Executors are checked against it (unknown id, input schema) when given. */
  registry?: ExecutorLookup;
  /** Owner stamped on tasks that name none. */
  userId?: string | null;
  now?: Date;
  /** `single` (default): exactly one root. `many`: one tree per root. */
  trees?: "single" | "many";
  /** Allow `status`/`result` fields on input (used by copy, mode `full`). */
  allowFinishedTasks?: boolean;
}

interface Draft {
  index: number;
  raw: Record<string, unknown>;
  id: string;
  name: string;
  parentRef: string | null;
  depRefs: Array<{ ref: string; required: boolean; at: number }>;
  parentId: string | null;
  dependencies: TaskDependency[];
  rootId: string | null;
}

/**
 * Validate a creation request (docs/semantics.md#creating-trees) and resolve it into tasks ready for the store, grouped
 * by tree, parents before children. Every problem is collected and thrown at once as a
 * `ValidationError` (`data.errors[]` of `{path, code, message}`); nothing is written here.
 */
export function validateTasks(input: unknown, options: ValidateOptions = {}): NewTask[][] {
  const issues: ValidationIssue[] = [];
  if (!Array.isArray(input)) {
    throw new ValidationError([{ path: "tasks", code: "invalid_type", message: "tasks must be an array" }]);
  }
  if (input.length === 0) {
    throw new ValidationError([{ path: "tasks", code: "empty", message: "tasks must not be empty" }]);
  }

  const drafts: Draft[] = [];
  const byId = new Map<string, Draft>();
  const byName = new Map<string, Draft[]>();
  for (let i = 0; i < input.length; i++) {
    const path = `tasks[${i}]`;
    const raw = input[i];
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      issues.push({ path, code: "invalid_type", message: "each task must be an object" });
      continue;
    }
    const parsed = taskInputSchema.safeParse(raw);
    if (!parsed.success) issues.push(...zodIssues(parsed.error, path));
    const task = (parsed.success ? parsed.data : raw) as Record<string, unknown>;
    const id = typeof task.id === "string" && task.id !== "" ? task.id : newId();
    const name = typeof task.name === "string" ? task.name.trim() : "";
    if (!options.allowFinishedTasks && task.status !== undefined && task.status !== "pending") {
      issues.push({ path: `${path}.status`, code: "invalid_status", message: "new tasks start pending" });
    }
    if (task.status === "in_progress") {
      issues.push({ path: `${path}.status`, code: "invalid_status", message: "a task cannot be created in progress" });
    }
    const draft: Draft = {
      index: i,
      raw: task,
      id,
      name,
      parentRef: typeof task.parentId === "string" ? task.parentId : null,
      depRefs: readDependencyRefs(task.dependencies),
      parentId: null,
      dependencies: [],
      rootId: null,
    };
    if (byId.has(id)) {
      issues.push({ path: `${path}.id`, code: "duplicate_id", message: `duplicate task id ${id}` });
    } else {
      byId.set(id, draft);
    }
    if (name) {
      const list = byName.get(name);
      if (list) list.push(draft);
      else byName.set(name, [draft]);
    }
    drafts.push(draft);
  }

  const resolve = (ref: string, path: string, what: string): Draft | null => {
    const found = byId.get(ref);
    if (found) return found;
    const named = byName.get(ref);
    if (named && named.length === 1) return named[0] as Draft;
    if (named && named.length > 1) {
      issues.push({
        path,
        code: "ambiguous_reference",
        message: `${what} "${ref}" is ambiguous: ${named.length} tasks are named so; refer by id or use unique names`,
      });
      return null;
    }
    issues.push({
      path,
      code: `unknown_${what}`,
      message: `unknown ${what} "${ref}": no task in the request has this id or name`,
    });
    return null;
  };

  for (const d of drafts) {
    const path = `tasks[${d.index}]`;
    if (d.parentRef !== null) {
      const parent = resolve(d.parentRef, `${path}.parentId`, "parent");
      if (parent === d)
        issues.push({ path: `${path}.parentId`, code: "self_parent", message: "a task cannot be its own parent" });
      else if (parent) d.parentId = parent.id;
    }
    const seen = new Set<string>();
    for (const dep of d.depRefs) {
      const depPath = `${path}.dependencies[${dep.at}]`;
      const target = resolve(dep.ref, depPath, "dependency");
      if (!target) continue;
      if (target === d) {
        issues.push({ path: depPath, code: "self_dependency", message: `task "${d.name}" depends on itself` });
        continue;
      }
      if (seen.has(target.id)) {
        issues.push({
          path: depPath,
          code: "duplicate_dependency",
          message: `dependency "${dep.ref}" is listed twice`,
        });
        continue;
      }
      seen.add(target.id);
      d.dependencies.push({ id: target.id, required: dep.required });
    }
  }

  assignRoots(drafts, byId, issues);
  const roots = drafts.filter((d) => d.parentRef === null);
  if (roots.length === 0) {
    issues.push({ path: "tasks", code: "no_root", message: "no root task: exactly one task must have no parent" });
  } else if (roots.length > 1 && options.trees !== "many") {
    issues.push({
      path: "tasks",
      code: "multiple_roots",
      message: `exactly one root expected, found ${roots.length}: ${roots.map((r) => `"${r.name || r.id}"`).join(", ")}`,
    });
  }
  for (const d of drafts) {
    for (const dep of d.dependencies) {
      const target = byId.get(dep.id) as Draft;
      if (d.rootId !== null && target.rootId !== null && target.rootId !== d.rootId) {
        issues.push({
          path: `tasks[${d.index}].dependencies`,
          code: "dependency_outside_tree",
          message: `task "${d.name}" depends on "${target.name}", which belongs to another tree`,
        });
      }
    }
  }
  issues.push(...findCycles(drafts, byId));
  if (options.registry) issues.push(...checkExecutors(drafts, options.registry));
  if (issues.length > 0) throw treeError(issues);

  return buildTrees(drafts, byId, options);
}

function readDependencyRefs(value: unknown): Draft["depRefs"] {
  if (!Array.isArray(value)) return [];
  const out: Draft["depRefs"] = [];
  value.forEach((dep, at) => {
    if (typeof dep === "string") out.push({ ref: dep, required: true, at });
    else if (dep && typeof dep === "object" && typeof (dep as { id?: unknown }).id === "string") {
      const { id, required } = dep as { id: string; required?: unknown };
      out.push({ ref: id, required: required !== false, at });
    }
  });
  return out;
}

/** Walk parent chains; a chain that loops never reaches a root. */
function assignRoots(drafts: Draft[], byId: Map<string, Draft>, issues: ValidationIssue[]): void {
  for (const start of drafts) {
    if (start.rootId !== null) continue;
    const chain: Draft[] = [];
    const onChain = new Set<Draft>();
    let current: Draft | undefined = start;
    let rootId: string | null = null;
    while (current) {
      if (current.rootId !== null) {
        rootId = current.rootId;
        break;
      }
      if (onChain.has(current)) break;
      onChain.add(current);
      chain.push(current);
      if (current.parentRef === null) {
        rootId = current.id;
        break;
      }
      current = current.parentId === null ? undefined : byId.get(current.parentId);
    }
    if (rootId === null) {
      // Unknown parents were reported already; a loop of parents has not.
      if (current && onChain.has(current)) {
        issues.push({
          path: `tasks[${start.index}].parentId`,
          code: "unreachable",
          message: `task "${start.name}" is not reachable from a root: its parent chain loops`,
        });
      }
      for (const d of chain) d.rootId = "";
      continue;
    }
    for (const d of chain) d.rootId = rootId;
  }
  for (const d of drafts) if (d.rootId === "") d.rootId = null;
}

/** Iterative DFS (10,000-deep chains must not overflow the stack); reports each cycle's path. */
function findCycles(drafts: Draft[], byId: Map<string, Draft>): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  const state = new Map<Draft, 1 | 2>();
  for (const start of drafts) {
    if (state.has(start)) continue;
    const stack: Array<{ node: Draft; next: number }> = [{ node: start, next: 0 }];
    const onPath: Draft[] = [start];
    state.set(start, 1);
    while (stack.length > 0) {
      const frame = stack[stack.length - 1] as { node: Draft; next: number };
      const dep = frame.node.dependencies[frame.next++];
      if (dep === undefined) {
        state.set(frame.node, 2);
        stack.pop();
        onPath.pop();
        continue;
      }
      const target = byId.get(dep.id) as Draft;
      const s = state.get(target);
      if (s === 1) {
        const from = onPath.indexOf(target);
        const cycle = [...onPath.slice(from), target].map((d) => d.name || d.id);
        issues.push({
          path: `tasks[${frame.node.index}].dependencies`,
          code: "circular_dependency",
          message: `circular dependency: ${cycle.join(" -> ")}`,
        });
      } else if (s === undefined) {
        state.set(target, 1);
        stack.push({ node: target, next: 0 });
        onPath.push(target);
      }
    }
  }
  return issues;
}

function checkExecutors(drafts: Draft[], registry: ExecutorLookup): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (const d of drafts) {
    const path = `tasks[${d.index}]`;
    const found = executorIdOf(d.raw as { params?: JsonObject; schemas?: TaskSchemas });
    if (found.error) {
      issues.push({ path: `${path}.params.executorId`, code: "invalid_type", message: found.error });
      continue;
    }
    if (found.id === null) continue;
    const executor = registry.getExecutor(found.id);
    if (!executor) {
      if (!registry.allowLateRegistration) {
        issues.push({
          path: `${path}.params.executorId`,
          code: "unknown_executor",
          message: `unknown executor "${found.id}"`,
        });
      }
      continue;
    }
    if (executor.inputSchema && typeof (executor.inputSchema as { safeParse?: unknown }).safeParse === "function") {
      const inputs = (d.raw.inputs ?? {}) as JsonObject;
      const check = checkSchema(executor.inputSchema as Parameters<typeof checkSchema>[0], inputs, `${path}.inputs`);
      if (!check.ok) {
        // Inputs a dependency result may still fill are not required up front (docs/semantics.md#dependency-results).
        const open = d.dependencies.length > 0;
        for (const issue of check.issues) {
          const key = issue.path.slice(`${path}.inputs.`.length).split(/[.[]/)[0] ?? "";
          if (open && key !== "" && !(key in inputs)) continue;
          issues.push({ ...issue, code: "invalid_inputs" });
        }
      }
    }
  }
  return issues;
}

function buildTrees(drafts: Draft[], byId: Map<string, Draft>, options: ValidateOptions): NewTask[][] {
  const at = (options.now ?? new Date()).toISOString();
  const emitted = new Set<Draft>();
  const trees = new Map<string, NewTask[]>();
  for (const d of drafts) if (d.parentRef === null) trees.set(d.id, []);
  const emit = (d: Draft): void => {
    // Parents before children, otherwise request order.
    const pending: Draft[] = [];
    let current: Draft | undefined = d;
    while (current && !emitted.has(current)) {
      pending.push(current);
      current = current.parentId === null ? undefined : byId.get(current.parentId);
    }
    for (let i = pending.length - 1; i >= 0; i--) {
      const draft = pending[i] as Draft;
      emitted.add(draft);
      (trees.get(draft.rootId as string) as NewTask[]).push(toNewTask(draft, at, options));
    }
  };
  for (const d of drafts) emit(d);
  return [...trees.values()];
}

function toNewTask(d: Draft, at: string, options: ValidateOptions): NewTask {
  const r = d.raw;
  const status = (r.status as TaskStatus | undefined) ?? "pending";
  const finished = status !== "pending";
  return {
    id: d.id,
    parentId: d.parentId,
    rootId: d.rootId as string,
    userId: r.userId === undefined || r.userId === null ? (options.userId ?? null) : (r.userId as string),
    name: d.name,
    status,
    priority: (r.priority ?? 2) as Priority,
    dependencies: d.dependencies,
    inputs: (r.inputs ?? {}) as JsonObject,
    params: (r.params ?? {}) as JsonObject,
    schemas: (r.schemas ?? {}) as TaskSchemas,
    result: finished ? ((r.result ?? null) as NewTask["result"]) : null,
    error: finished ? ((r.error ?? null) as NewTask["error"]) : null,
    progress: status === "completed" ? 1 : finished ? ((r.progress as number | undefined) ?? 0) : 0,
    attempt: finished ? ((r.attempt as number | undefined) ?? 0) : 0,
    retry: (r.retry ?? null) as RetryPolicy | null,
    runAt: (r.runAt ?? null) as string | null,
    originalTaskId: (r.originalTaskId ?? null) as string | null,
    metadata: (r.metadata ?? {}) as JsonObject,
    placement: placementOf(r.placement as TaskPlacement | null | undefined),
    createdAt: at,
    startedAt: finished ? ((r.startedAt ?? null) as string | null) : null,
    completedAt: finished ? ((r.completedAt as string | null | undefined) ?? at) : null,
  };
}

/** A task's placement as stored: null when it says nothing (no tags required or preferred). */
function placementOf(p: TaskPlacement | null | undefined): TaskPlacement | null {
  if (p === undefined || p === null) return null;
  const out: TaskPlacement = {};
  if (p.requires !== undefined && p.requires.length > 0) out.requires = [...p.requires];
  if (p.prefers !== undefined && p.prefers.length > 0) out.prefers = [...p.prefers];
  return out.requires === undefined && out.prefers === undefined ? null : out;
}

/**
 * When every problem is of one kind that has its own code, that code: cycles -32002, unknown
 * executors -32003 (executor not found). Anything else, or a mix, is invalid params (-32602).
 * `data.errors` lists every problem either way.
 */
function treeError(issues: ValidationIssue[]): ValidationError {
  const only = (code: string) => issues.every((i) => i.code === code);
  const code = only("circular_dependency")
    ? ErrorCode.CircularDependency
    : only("unknown_executor")
      ? ErrorCode.ExecutorNotFound
      : ErrorCode.InvalidParams;
  return new ValidationError(issues, undefined, code);
}
