import { ErrorCode, type ValidationIssue, ValidationError } from "../errors.js";
import type { Registry } from "../registry/registry.js";

/** What validation needs of a registry. */
export type ExecutorLookup = Pick<Registry, "getExecutor" | "allowLateRegistration">;
import { checkSchema, zodIssues } from "../schema/schema.js";
import { isPlainTaskInput } from "../task/plain-input.js";
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
  /** The resolved parent and dependencies (`depDrafts[k]` is `dependencies[k]`'s task). */
  parent: Draft | null;
  depDrafts: Draft[];
  emitted: boolean;
  /** Cycle search: 0 not seen, 1 on the path being walked, 2 done; `nextDep` the edge to follow next. */
  visit: 0 | 1 | 2;
  nextDep: number;
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
  for (let i = 0; i < input.length; i++) {
    const raw = input[i];
    if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
      issues.push({ path: `tasks[${i}]`, code: "invalid_type", message: "each task must be an object" });
      continue;
    }
    // The common shape is checked without zod (isPlainTaskInput); anything else goes through it.
    let task = raw as Record<string, unknown>;
    if (!isPlainTaskInput(raw)) {
      const parsed = taskInputSchema.safeParse(raw);
      if (!parsed.success) issues.push(...zodIssues(parsed.error, `tasks[${i}]`));
      else task = parsed.data as Record<string, unknown>;
    }
    const id = typeof task.id === "string" && task.id !== "" ? task.id : newId();
    const name = typeof task.name === "string" ? task.name.trim() : "";
    if (!options.allowFinishedTasks && task.status !== undefined && task.status !== "pending") {
      issues.push({ path: `tasks[${i}].status`, code: "invalid_status", message: "new tasks start pending" });
    }
    if (task.status === "in_progress") {
      issues.push({
        path: `tasks[${i}].status`,
        code: "invalid_status",
        message: "a task cannot be created in progress",
      });
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
      parent: null,
      depDrafts: NO_DRAFTS,
      emitted: false,
      visit: 0,
      nextDep: 0,
    };
    // One map write per task; a repeated id (rare) puts the first task back.
    const known = byId.size;
    byId.set(id, draft);
    if (byId.size === known) {
      issues.push({ path: `tasks[${i}].id`, code: "duplicate_id", message: `duplicate task id ${id}` });
      byId.set(id, drafts.find((d) => d.id === id) as Draft);
    }
    drafts.push(draft);
  }

  // A reference's path (its parent, or dependency `at`) is built only for a problem: most resolve.
  const refPath = (d: Draft, at: number): string =>
    at < 0 ? `tasks[${d.index}].parentId` : `tasks[${d.index}].dependencies[${at}]`;
  // References by name: the index is built on the first reference that is not an id.
  let byName: Map<string, Draft | Draft[]> | null = null;
  const namesOf = (): Map<string, Draft | Draft[]> => {
    if (byName !== null) return byName;
    const names = new Map<string, Draft | Draft[]>();
    for (const d of drafts) {
      if (!d.name) continue;
      const named = names.get(d.name);
      if (named === undefined) names.set(d.name, d);
      else if (Array.isArray(named)) named.push(d);
      else names.set(d.name, [named, d]);
    }
    byName = names;
    return names;
  };
  const resolve = (ref: string, from: Draft, at: number, what: string): Draft | null => {
    const found = byId.get(ref);
    if (found) return found;
    const named = namesOf().get(ref);
    if (named !== undefined && !Array.isArray(named)) return named;
    if (named !== undefined) {
      issues.push({
        path: refPath(from, at),
        code: "ambiguous_reference",
        message: `${what} "${ref}" is ambiguous: ${named.length} tasks are named so; refer by id or use unique names`,
      });
      return null;
    }
    issues.push({
      path: refPath(from, at),
      code: `unknown_${what}`,
      message: `unknown ${what} "${ref}": no task in the request has this id or name`,
    });
    return null;
  };

  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i] as Draft;
    if (d.parentRef !== null) {
      const parent = resolve(d.parentRef, d, -1, "parent");
      if (parent === d)
        issues.push({ path: refPath(d, -1), code: "self_parent", message: "a task cannot be its own parent" });
      else if (parent) {
        d.parentId = parent.id;
        d.parent = parent;
      }
    }
    // Short lists are checked for repeats by scanning; a set only for long ones.
    const seen = d.depRefs.length > 8 ? new Set<string>() : null;
    for (let k = 0; k < d.depRefs.length; k++) {
      const dep = d.depRefs[k] as Draft["depRefs"][number];
      const target = resolve(dep.ref, d, dep.at, "dependency");
      if (!target) continue;
      if (target === d) {
        issues.push({
          path: refPath(d, dep.at),
          code: "self_dependency",
          message: `task "${d.name}" depends on itself`,
        });
        continue;
      }
      if (seen ? seen.has(target.id) : hasEdge(d.dependencies, target.id)) {
        issues.push({
          path: refPath(d, dep.at),
          code: "duplicate_dependency",
          message: `dependency "${dep.ref}" is listed twice`,
        });
        continue;
      }
      seen?.add(target.id);
      d.dependencies.push({ id: target.id, required: dep.required });
      if (d.depDrafts === NO_DRAFTS) d.depDrafts = [];
      d.depDrafts.push(target);
    }
    // Cut to size: a list grown by push keeps room for 17 entries, and every draft lives until
    // the whole request is validated (big trees pay for the room in copying collections).
    if (d.dependencies.length > 0) {
      d.dependencies = d.dependencies.slice();
      d.depDrafts = d.depDrafts.slice();
    }
  }

  assignRoots(drafts, issues);
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
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i] as Draft;
    for (let k = 0; k < d.depDrafts.length; k++) {
      const target = d.depDrafts[k] as Draft;
      if (d.rootId !== null && target.rootId !== null && target.rootId !== d.rootId) {
        issues.push({
          path: `tasks[${d.index}].dependencies`,
          code: "dependency_outside_tree",
          message: `task "${d.name}" depends on "${target.name}", which belongs to another tree`,
        });
      }
    }
  }
  issues.push(...findCycles(drafts));
  if (options.registry) issues.push(...checkExecutors(drafts, options.registry));
  if (issues.length > 0) throw treeError(issues);

  return buildTrees(drafts, options);
}

/** `depDrafts` of a task without dependencies (a list is made on the first one). */
const NO_DRAFTS: Draft[] = [];

function hasEdge(edges: readonly TaskDependency[], id: string): boolean {
  for (const e of edges) if (e.id === id) return true;
  return false;
}

function readDependencyRefs(value: unknown): Draft["depRefs"] {
  if (!Array.isArray(value)) return [];
  const out: Draft["depRefs"] = [];
  for (let at = 0; at < value.length; at++) {
    if (!(at in value)) continue; // a hole (forEach semantics)
    const dep: unknown = value[at];
    if (typeof dep === "string") out.push({ ref: dep, required: true, at });
    else if (dep && typeof dep === "object" && typeof (dep as { id?: unknown }).id === "string") {
      const { id, required } = dep as { id: string; required?: unknown };
      out.push({ ref: id, required: required !== false, at });
    }
  }
  return out.length > 0 ? out.slice() : out;
}

/** Walk parent chains; a chain that loops never reaches a root. */
function assignRoots(drafts: Draft[], issues: ValidationIssue[]): void {
  for (let i = 0; i < drafts.length; i++) {
    const start = drafts[i] as Draft;
    if (start.rootId !== null) continue;
    // The common case: a root, or a task whose parent's root is known already.
    if (start.parentRef === null) {
      start.rootId = start.id;
      continue;
    }
    const parent = start.parent;
    if (parent !== null && parent.rootId !== null) {
      start.rootId = parent.rootId;
      continue;
    }
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
      current = current.parent ?? undefined;
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
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i] as Draft;
    if (d.rootId === "") d.rootId = null;
  }
}

/** Iterative DFS (10,000-deep chains must not overflow the stack); reports each cycle's path. */
function findCycles(drafts: Draft[]): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  // The DFS state lives on the drafts (`visit`, `nextDep`); the stack is the path being walked.
  const path: Draft[] = [];
  for (let i = 0; i < drafts.length; i++) {
    const start = drafts[i] as Draft;
    if (start.visit !== 0) continue;
    start.visit = 1;
    start.nextDep = 0;
    path.push(start);
    while (path.length > 0) {
      const node = path[path.length - 1] as Draft;
      const target = node.depDrafts[node.nextDep++];
      if (target === undefined) {
        node.visit = 2;
        path.pop();
        continue;
      }
      if (target.visit === 1) {
        const from = path.indexOf(target);
        const cycle = [...path.slice(from), target].map((d) => d.name || d.id);
        issues.push({
          path: `tasks[${node.index}].dependencies`,
          code: "circular_dependency",
          message: `circular dependency: ${cycle.join(" -> ")}`,
        });
      } else if (target.visit === 0) {
        target.visit = 1;
        target.nextDep = 0;
        path.push(target);
      }
    }
  }
  return issues;
}

function checkExecutors(drafts: Draft[], registry: ExecutorLookup): ValidationIssue[] {
  const issues: ValidationIssue[] = [];
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i] as Draft;
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

function buildTrees(drafts: Draft[], options: ValidateOptions): NewTask[][] {
  const at = (options.now ?? new Date()).toISOString();
  const trees = new Map<string, NewTask[]>();
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i] as Draft;
    if (d.parentRef === null) trees.set(d.id, []);
  }
  // Tasks of one tree usually come together: the last tree's list is kept at hand.
  let lastRoot: string | null = null;
  let lastTree: NewTask[] = [];
  const push = (d: Draft): void => {
    d.emitted = true;
    if (d.rootId !== lastRoot) {
      lastRoot = d.rootId;
      lastTree = trees.get(d.rootId as string) as NewTask[];
    }
    lastTree.push(toNewTask(d, at, options));
  };
  for (let i = 0; i < drafts.length; i++) {
    const d = drafts[i] as Draft;
    if (d.emitted) continue;
    // Parents before children, otherwise request order.
    if (d.parent === null || d.parent.emitted) {
      push(d);
      continue;
    }
    const pending: Draft[] = [];
    let current: Draft | null = d;
    while (current !== null && !current.emitted) {
      pending.push(current);
      current = current.parent;
    }
    for (let i = pending.length - 1; i >= 0; i--) push(pending[i] as Draft);
  }
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
