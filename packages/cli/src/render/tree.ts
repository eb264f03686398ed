import { type Task, type Waiting, executorIdOf } from "@aipartnerupflow/core";
import type { Palette } from "./colors.js";
import { percent, preview, statusIcon, statusText, taskDuration } from "./format.js";

/** What the live view knows about a task beyond its stored row. */
export interface TaskNote {
  /** The last progress message (a command's output line, an LLM step, ...). */
  message?: string;
}

export interface TreeRenderOptions {
  palette: Palette;
  notes?: ReadonlyMap<string, TaskNote>;
  /** Show each task's full id (default true). */
  ids?: boolean;
  /** Show a preview of completed results (default false). */
  results?: boolean;
  /** Why pending tasks wait (shown under each). */
  waiting?: ReadonlyMap<string, Waiting>;
  now?: number;
}

/**
 * Render tasks as an indented tree (parent/child), one line per task with its status, executor,
 * duration and dependencies, plus an error line under failed and cancelled tasks. Tasks whose
 * parent is not in the list are drawn as roots, so a subtree renders too.
 */
export function renderTree(tasks: readonly Task[], options: TreeRenderOptions): string[] {
  const c = options.palette;
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const children = new Map<string, Task[]>();
  const roots: Task[] = [];
  for (const t of tasks) {
    if (t.parentId !== null && byId.has(t.parentId)) {
      const list = children.get(t.parentId);
      if (list) list.push(t);
      else children.set(t.parentId, [t]);
    } else {
      roots.push(t);
    }
  }
  const lines: string[] = [];
  const draw = (task: Task, prefix: string, branch: string, childPrefix: string): void => {
    lines.push(`${prefix}${branch}${taskLine(task, byId, options)}`);
    const detailPrefix = `${prefix}${childPrefix}${(children.get(task.id)?.length ?? 0) > 0 ? "│ " : "  "}`;
    for (const detail of taskDetails(task, options)) lines.push(`${detailPrefix}${c.dim("  ")}${detail}`);
    const kids = children.get(task.id) ?? [];
    kids.forEach((kid, i) => {
      const last = i === kids.length - 1;
      draw(kid, `${prefix}${childPrefix}`, last ? "└─ " : "├─ ", last ? "   " : "│  ");
    });
  };
  for (const root of roots) draw(root, "", "", "");
  return lines;
}

function taskLine(task: Task, byId: ReadonlyMap<string, Task>, options: TreeRenderOptions): string {
  const c = options.palette;
  const parts = [`${statusIcon(task.status, c)} ${c.bold(task.name)}`, statusText(task.status, c)];
  if (task.status === "in_progress" && task.progress > 0) parts.push(c.cyan(percent(task.progress)));
  const executor = executorIdOf(task).id;
  if (executor) parts.push(c.gray(`[${executor}]`));
  const duration = taskDuration(task, options.now);
  if (duration) parts.push(c.dim(duration));
  if (task.attempt > 1) parts.push(c.yellow(`attempt ${task.attempt}`));
  if (task.dependencies.length > 0) {
    const names = task.dependencies.map((d) => {
      const name = byId.get(d.id)?.name ?? d.id.slice(0, 8);
      return d.required ? name : `${name}?`;
    });
    parts.push(c.gray(`needs ${names.join(", ")}`));
  }
  if (options.ids !== false) parts.push(c.dim(task.id));
  return parts.join("  ");
}

function taskDetails(task: Task, options: TreeRenderOptions): string[] {
  const c = options.palette;
  const out: string[] = [];
  if ((task.status === "failed" || task.status === "cancelled") && task.error) {
    out.push(`${c.red("error")} ${c.bold(task.error.code)}: ${task.error.message}`);
  } else if (task.status === "in_progress") {
    const message = options.notes?.get(task.id)?.message;
    if (message) out.push(c.gray(preview(message, 100)));
  } else if (task.status === "waiting" && task.wait) {
    out.push(
      `${c.yellow("waiting for an answer:")} ${task.wait.prompt} ${c.gray(`(apflow tasks resume ${task.id} --input '{...}')`)}`,
    );
  } else if (task.status === "pending" && options.waiting?.has(task.id)) {
    const w = options.waiting.get(task.id) as Waiting;
    out.push(`${c.yellow(`waiting: ${w.reason}`)} ${c.gray(w.detail)}`);
  } else if (task.status === "completed" && options.results && task.result !== null) {
    out.push(c.gray(`→ ${preview(task.result, 100)}`));
  }
  return out;
}
