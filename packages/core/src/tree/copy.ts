import { ApflowError, ErrorCode, NotFoundError, ValidationError } from "../errors.js";
import type { TaskStore } from "../store/types.js";
import type { Task, TaskInput } from "../types.js";
import { newId } from "../util/ids.js";

/** The run-state fields, reset by default on the tasks a copy re-runs. */
export const DEFAULT_RESET_FIELDS = [
  "status",
  "progress",
  "result",
  "error",
  "startedAt",
  "completedAt",
  "attempt",
] as const;

/** Every field `resetFields` may name: the run state, plus inputs, metadata and runAt. */
export const RESETTABLE_FIELDS = [...DEFAULT_RESET_FIELDS, "inputs", "metadata", "runAt"] as const;
export type ResettableField = (typeof RESETTABLE_FIELDS)[number];

export interface CopyOptions {
  /** `minimal` (default), `full` or `custom` (docs/semantics.md#copy). */
  mode?: "minimal" | "full" | "custom";
  /** For `custom`: the tasks to re-run (their upstream dependencies come along). */
  taskIds?: string[];
  /** For `custom`: also re-run the descendants of `taskIds`. */
  includeDescendants?: boolean;
  /** Fields reset on the tasks that will re-run (default: status, progress, result, error, startedAt, completedAt, attempt). */
  resetFields?: ResettableField[];
  /** `false`: return the flat array for `createTree` instead of storing it. */
  save?: boolean;
  /** Owner of the copy (default: the original's). */
  userId?: string | null;
}

/**
 * Build the flat task array of a copy that re-runs part of a tree. Every copied task gets a new
 * id and `originalTaskId`; dependencies are rewritten to the new ids. Tasks the re-run needs but
 * does not re-run are copied as completed with their original results, so the copy is a
 * self-contained tree. A dependency on a task that is neither copied nor completed is an error.
 */
export async function copyTask(store: TaskStore, taskId: string, options: CopyOptions = {}): Promise<TaskInput[]> {
  const origin = await store.getTask(taskId);
  if (!origin) throw new NotFoundError("task", taskId);
  const tree = await store.getTree(origin.rootId);
  const byId = new Map(tree.map((t) => [t.id, t]));
  const children = new Map<string, Task[]>();
  const dependents = new Map<string, Task[]>();
  for (const t of tree) {
    if (t.parentId !== null) push(children, t.parentId, t);
    for (const d of t.dependencies) {
      const target = byId.get(d.id);
      if (target) push(dependents, target.id, t);
    }
  }
  const resetFields = new Set<ResettableField>(options.resetFields ?? DEFAULT_RESET_FIELDS);
  for (const f of resetFields) {
    if (!(RESETTABLE_FIELDS as readonly string[]).includes(f)) {
      throw new ValidationError([
        {
          path: "resetFields",
          code: "invalid_field",
          message: `cannot reset "${f}"; allowed: ${RESETTABLE_FIELDS.join(", ")}`,
        },
      ]);
    }
  }

  const rerun = new Set<string>();
  const mode = options.mode ?? "minimal";
  if (mode === "custom") {
    const ids = options.taskIds ?? [];
    if (ids.length === 0) {
      throw new ValidationError([{ path: "taskIds", code: "required", message: "custom copy needs taskIds" }]);
    }
    const chosenTasks: Task[] = [];
    for (const id of ids) {
      const t = byId.get(id);
      if (!t)
        throw new ValidationError([
          { path: "taskIds", code: "unknown_task", message: `task ${id} is not in tree ${origin.rootId}` },
        ]);
      chosenTasks.push(t);
    }
    if (options.includeDescendants) for (const t of descendantsOf(chosenTasks, children)) rerun.add(t.id);
    else for (const t of chosenTasks) rerun.add(t.id);
    // Upstream dependencies that did not complete run again too.
    const stack = [...rerun];
    while (stack.length > 0) {
      for (const dep of (byId.get(stack.pop() as string) as Task).dependencies) {
        const up = byId.get(dep.id);
        if (up && up.status !== "completed" && !rerun.has(up.id)) {
          rerun.add(up.id);
          stack.push(up.id);
        }
      }
    }
  } else {
    const subtree = descendantsOf([origin], children);
    const hasFailedLeaf = subtree.some((t) => t.status === "failed" && !children.has(t.id));
    for (const t of subtree) rerun.add(t.id);
    const stack = [...rerun];
    while (stack.length > 0) {
      for (const dependent of dependents.get(stack.pop() as string) ?? []) {
        if (rerun.has(dependent.id)) continue;
        if (hasFailedLeaf && dependent.status === "pending") continue;
        rerun.add(dependent.id);
        stack.push(dependent.id);
      }
    }
    if (mode === "full") for (const t of tree) if (t.status !== "completed") rerun.add(t.id);
  }

  const { kept, missing } = closeCopy(tree, byId, rerun, mode === "full");
  if (missing.length > 0) {
    throw new ApflowError(
      ErrorCode.InvalidDependency,
      `cannot copy: ${missing.length} dependenc${missing.length === 1 ? "y is" : "ies are"} neither copied nor completed: ${missing.join(", ")}`,
      {
        errors: missing.map((id) => ({
          path: "dependencies",
          code: "dependency_not_copied",
          message: `dependency ${id} is neither copied nor completed`,
        })),
      },
    );
  }

  const chosen = tree.filter((t) => rerun.has(t.id) || kept.has(t.id));
  const newIds = new Map(chosen.map((t) => [t.id, newId()]));
  return chosen.map((t) => toCopy(t, newIds, rerun.has(t.id), resetFields, options.userId));
}

function toCopy(
  t: Task,
  newIds: Map<string, string>,
  rerun: boolean,
  reset: Set<ResettableField>,
  userId: string | null | undefined,
): TaskInput {
  const parentId = t.parentId !== null ? (newIds.get(t.parentId) ?? null) : null;
  const copy: TaskInput = {
    id: newIds.get(t.id) as string,
    name: t.name,
    parentId,
    userId: userId === undefined ? t.userId : userId,
    priority: t.priority,
    dependencies: t.dependencies
      .filter((d) => newIds.has(d.id))
      .map((d) => ({ id: newIds.get(d.id) as string, required: d.required })),
    inputs: rerun && reset.has("inputs") ? {} : t.inputs,
    params: t.params,
    schemas: t.schemas,
    retry: t.retry,
    runAt: rerun && reset.has("runAt") ? null : t.runAt,
    metadata: rerun && reset.has("metadata") ? {} : t.metadata,
    originalTaskId: t.id,
  };
  // The task's own placement is copied; where an execution placed it (`placedOn`) never is.
  if (t.placement !== null) copy.placement = t.placement;
  const keepStatus = !rerun || !reset.has("status");
  if (keepStatus && t.status !== "pending" && t.status !== "in_progress") {
    copy.status = t.status;
    copy.result = !rerun || !reset.has("result") ? t.result : null;
    copy.error = !rerun || !reset.has("error") ? t.error : null;
    copy.progress = !rerun || !reset.has("progress") ? t.progress : 0;
    copy.attempt = !rerun || !reset.has("attempt") ? t.attempt : 0;
    copy.startedAt = !rerun || !reset.has("startedAt") ? t.startedAt : null;
    copy.completedAt = !rerun || !reset.has("completedAt") ? t.completedAt : null;
  }
  return copy;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}

/** The tasks and all their descendants, each once (breadth first, no recursion). */
function descendantsOf(tasks: Task[], children: Map<string, Task[]>): Task[] {
  const seen = new Set<string>();
  const out: Task[] = [];
  for (const t of tasks) {
    if (seen.has(t.id)) continue;
    seen.add(t.id);
    out.push(t);
  }
  for (let i = 0; i < out.length; i++) {
    for (const c of children.get((out[i] as Task).id) ?? []) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      out.push(c);
    }
  }
  return out;
}

/**
 * Close a re-run set over what it needs, in time linear in the tree's size (a 10,000-deep chain
 * included):
 * - a dependency of a re-run task that completed comes along as a finished copy (`kept`); one that
 *   did not is `missing` (an error for the caller), unless it is in the copy anyway;
 * - ancestors keep the structure up to the lowest common ancestor of everything copied; a
 *   completed one is kept, any other re-runs. An ancestor that is there only for structure carries
 *   the dependencies the copy holds, and does not drag in its own unfinished ones (they are left
 *   out of its copy); if a re-run task depends on it, it is needed for real and its dependencies
 *   count like any other.
 *
 * Ancestors are found by walking up from each copied task only until the walk meets a task seen
 * before, and the common ancestor only ever moves up, so every task is visited a bounded number of
 * times.
 */
function closeCopy(
  tree: Task[],
  byId: Map<string, Task>,
  rerun: Set<string>,
  full: boolean,
): { kept: Set<string>; missing: string[] } {
  const kept = new Set<string>();
  /** Re-run only to keep the tree's shape: their unfinished dependencies are not required. */
  const structural = new Set<string>();
  /** Unfinished dependencies of real re-run tasks, not (yet) in the copy. */
  const wanted = new Set<string>();
  /** Tasks on the path from the root to anything copied. */
  const onPath = new Set<string>();
  /** Strict ancestors of the current lowest common ancestor (on the path, yet not copied). */
  const above = new Set<string>();
  let lca: string | null = null;
  const queue: Array<{ id: string; real: boolean }> = [];
  const inCopy = (id: string): boolean => rerun.has(id) || kept.has(id);
  const parentOf = (id: string): string | null => (byId.get(id) as Task).parentId;

  const addAncestor = (id: string): void => {
    if (inCopy(id)) return;
    const t = byId.get(id) as Task;
    if (t.status === "completed") {
      kept.add(id);
      return;
    }
    rerun.add(id);
    const real = wanted.has(id);
    if (!real) structural.add(id);
    queue.push({ id, real });
  };

  /** `id` joined the copy: its ancestors up to the common ancestor must be in it too. */
  const include = (id: string): void => {
    const fresh: string[] = [];
    let at: string | null = id;
    while (at !== null && byId.has(at) && !onPath.has(at)) {
      onPath.add(at);
      fresh.push(at);
      at = parentOf(at);
    }
    if (at !== null && !byId.has(at)) at = null;
    if (lca === null) {
      lca = id;
      for (let i = 1; i < fresh.length; i++) above.add(fresh[i] as string);
      return;
    }
    if (at !== null && above.has(at)) {
      // The walk met the path above the common ancestor: it moves up to where they meet.
      for (let x = parentOf(lca); x !== null && x !== at; x = parentOf(x)) {
        above.delete(x);
        addAncestor(x);
      }
      above.delete(at);
      addAncestor(at);
      lca = at;
    }
    for (let i = 1; i < fresh.length; i++) addAncestor(fresh[i] as string);
  };

  for (const id of rerun) queue.push({ id, real: true });
  if (full) for (const t of tree) if (!rerun.has(t.id)) kept.add(t.id);
  for (const id of [...rerun, ...kept]) include(id);

  while (queue.length > 0) {
    const { id, real } = queue.pop() as { id: string; real: boolean };
    if (!real && !structural.has(id)) continue; // promoted since; handled as real
    for (const dep of (byId.get(id) as Task).dependencies) {
      if (kept.has(dep.id)) continue;
      if (rerun.has(dep.id)) {
        if (real && structural.delete(dep.id)) queue.push({ id: dep.id, real: true });
        continue;
      }
      const up = byId.get(dep.id);
      if (up?.status === "completed") {
        kept.add(dep.id);
        include(dep.id);
      } else if (real) {
        wanted.add(dep.id);
      }
    }
  }
  return { kept, missing: [...wanted].filter((id) => !inCopy(id)) };
}
