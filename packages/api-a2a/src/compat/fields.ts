import type { JsonObject, JsonValue, Task, TaskSchemas } from "@aipartnerupflow/core";

/**
 * The one table of names that differ between the Python original's API and ours. Keys are the
 * original's names, values ours. Everything the compatibility surface renames goes through it:
 * task fields both ways, the keys inside `schemas`, and method parameters on the way in.
 */
export const RENAMES = {
  /** Task fields (task dicts out, task items of `tasks.create` in). */
  task: {
    parent_id: "parentId",
    root_id: "rootId",
    user_id: "userId",
    original_task_id: "originalTaskId",
    has_children: "hasChildren",
    created_at: "createdAt",
    updated_at: "updatedAt",
    started_at: "startedAt",
    completed_at: "completedAt",
    run_at: "runAt",
    placed_on: "placedOn",
  },
  /** Keys inside a task's `schemas`. */
  schemas: {
    input_schema: "inputSchema",
    output_schema: "outputSchema",
  },
  /** Method parameters whose meaning maps onto one of ours under another name. */
  params: {
    task_id: "taskId",
    parent_id: "parentId",
    root_id: "rootId",
    user_id: "userId",
    task_ids: "taskIds",
    context_ids: "taskIds",
    root_only: "rootsOnly",
    copy_mode: "mode",
    custom_task_ids: "taskIds",
    custom_include_children: "includeDescendants",
    reset_fields: "resetFields",
    use_streaming: "stream",
    use_demo: "demo",
    webhook_config: "webhook",
    error_message: "reason",
    run_at: "runAt",
  },
  /**
   * Executor ids in a task's `schemas.method` (the original's way of naming the executor): the
   * original's built-ins that have a counterpart here. Inputs may still differ (see the guide).
   */
  executors: {
    system_info_executor: "system_info",
    aggregate_results_executor: "aggregate_results",
    command_executor: "command",
    llm_executor: "llm",
    crewai_executor: "crew",
    generate_executor: "generate_tree",
  },
  /** Event types of `tasks.execute` streams (the original's on the left). */
  events: {
    task_created: "task.created",
    task_start: "task.started",
    progress: "task.progress",
    task_completed: "task.completed",
    task_failed: "task.failed",
    task_cancelled: "task.cancelled",
    task_retrying: "task.retrying",
    tree_start: "tree.started",
    final: "tree.finished",
  },
} as const;

type Section = keyof typeof RENAMES;

const REVERSE: { [S in Section]: Record<string, string> } = {
  task: invert(RENAMES.task),
  schemas: invert(RENAMES.schemas),
  params: invert(RENAMES.params),
  executors: invert(RENAMES.executors),
  events: invert(RENAMES.events),
};

function invert(table: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [original, ours] of Object.entries(table)) if (!(ours in out)) out[ours] = original;
  return out;
}

/** Our name for an original's name (unchanged when the table does not list it). */
export function ourName(section: Section, original: string): string {
  return (RENAMES[section] as Record<string, string>)[original] ?? original;
}

/** The original's name for one of ours (unchanged when the table does not list it). */
export function originalName(section: Section, ours: string): string {
  return REVERSE[section][ours] ?? ours;
}

/**
 * Rename the keys of an object from the original's names to ours. When both spellings are given
 * ours wins, as on `/tasks`.
 */
export function renameIn(section: Section, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const name = ourName(section, key);
    if (name !== key && name in value) continue;
    if (name in out && name !== key) continue;
    out[name] = v;
  }
  return out;
}

function renameOut(section: Section, value: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) out[originalName(section, key)] = v;
  return out;
}

/** One task item of a creation request, from the original's spelling to ours. */
export function taskIn(item: unknown): unknown {
  if (!item || typeof item !== "object" || Array.isArray(item)) return item;
  const task = renameIn("task", item as Record<string, unknown>);
  const schemas = task.schemas;
  if (schemas && typeof schemas === "object" && !Array.isArray(schemas)) {
    const ours = renameIn("schemas", schemas as Record<string, unknown>);
    if (typeof ours.method === "string") ours.method = ourName("executors", ours.method);
    task.schemas = ours;
  }
  return task;
}

/** A task as the original's `to_dict()` spelled it (plus our extra fields, snake_case too). */
export interface CompatTask {
  id: string;
  parent_id: string | null;
  root_id: string;
  user_id: string | null;
  name: string;
  status: string;
  priority: number;
  dependencies: Array<{ id: string; required: boolean }>;
  inputs: JsonObject;
  params: JsonObject;
  /** The original stored a plain message; our error code travels in `error_code`. */
  error: string | null;
  error_code: string | null;
  result: JsonValue | null;
  schemas: Record<string, unknown>;
  progress: number;
  attempt: number;
  retry: unknown;
  run_at: string | null;
  metadata: JsonObject;
  original_task_id: string | null;
  has_children: boolean;
  created_at: string;
  updated_at: string;
  started_at: string | null;
  completed_at: string | null;
}

/** A task in the original's spelling. */
export function taskOut(task: Task): CompatTask {
  const { error, schemas, ...rest } = task;
  const out = renameOut("task", rest as unknown as Record<string, unknown>) as unknown as CompatTask;
  out.schemas = renameOut("schemas", (schemas ?? {}) as TaskSchemas as Record<string, unknown>);
  out.error = error ? error.message : null;
  out.error_code = error ? error.code : null;
  return out;
}

/**
 * A tree node both generations of the original web app read: the task's own fields with
 * `children` nested (the original server's shape), and the same task again under `task`
 * (the shape `{task, children}` its later client unwraps).
 */
export type CompatNode = CompatTask & { task: CompatTask; children: CompatNode[] };

/** Nest a flat list of tasks under `rootId` (tasks outside its subtree are left out). */
export function nodeOut(tasks: Task[], rootId: string): CompatNode | null {
  const byParent = new Map<string, Task[]>();
  let root: Task | undefined;
  for (const t of tasks) {
    if (t.id === rootId) root = t;
    if (t.parentId !== null) {
      const list = byParent.get(t.parentId);
      if (list) list.push(t);
      else byParent.set(t.parentId, [t]);
    }
  }
  if (!root) return null;
  const build = (t: Task): CompatNode => {
    const task = taskOut(t);
    return { ...task, task, children: (byParent.get(t.id) ?? []).map(build) };
  };
  return build(root);
}
