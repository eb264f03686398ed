import type { Task, TaskEvent } from "@aipartnerupflow/core";
import type { OutStream } from "../io.js";
import { type Palette, visibleLength } from "./colors.js";
import { paint, percent, preview, statusText, taskDuration } from "./format.js";
import { type TaskNote, renderTree } from "./tree.js";

export interface LiveViewOptions {
  out: OutStream;
  palette: Palette;
  /** Redraw the tree in place (a terminal) or print one line per event (a pipe, a log). */
  redraw: boolean;
  /** Redraw at most this often (default 100 ms). */
  intervalMs?: number;
}

/**
 * Shows running trees: on a terminal the tree is redrawn in place with status, progress and the
 * last progress message of each task; elsewhere every event becomes one plain line. Task rows
 * are updated from events, so nothing is read from the store while running.
 */
export class LiveView {
  private readonly tasks = new Map<string, Task>();
  private readonly order: string[] = [];
  private readonly notes = new Map<string, TaskNote>();
  private drawnRows = 0;
  private timer: NodeJS.Timeout | null = null;
  private dirty = false;
  private stopped = false;
  private held = false;

  constructor(private readonly options: LiveViewOptions) {}

  /** Add (or replace) the tasks shown; call before `apply`. */
  track(tasks: readonly Task[]): void {
    for (const t of tasks) {
      if (!this.tasks.has(t.id)) this.order.push(t.id);
      this.tasks.set(t.id, { ...t });
    }
    if (this.options.redraw) this.schedule();
  }

  apply(event: TaskEvent): void {
    if (this.stopped) return;
    const task = this.tasks.get(event.taskId);
    if (task && event.type.startsWith("task.")) {
      updateTask(task, event);
      if (event.type === "task.progress" && event.message) this.notes.set(task.id, { message: event.message });
    }
    if (this.options.redraw) this.schedule();
    else this.options.out.write(`${this.eventLine(event, task)}\n`);
  }

  /** Stop redrawing and print the final trees once, in full. */
  finish(trees: readonly Task[][]): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.clear();
    const lines = trees.flatMap((tree, i) => [
      ...(i > 0 ? [""] : []),
      ...renderTree(tree, { palette: this.options.palette }),
    ]);
    this.options.out.write(`${lines.join("\n")}\n`);
  }

  /** Hold redrawing while something else writes to the terminal (a prompt); `false` resumes. */
  hold(held: boolean): void {
    this.held = held;
    if (held) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.drawnRows = 0;
    } else if (this.options.redraw) this.schedule();
  }

  /** Stop without printing anything more (leaves the last drawing on screen). */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(): void {
    this.dirty = true;
    if (this.timer || this.stopped || this.held) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.dirty || this.stopped || this.held) return;
      this.dirty = false;
      this.draw();
      // Keep durations of running tasks ticking.
      if ([...this.tasks.values()].some((t) => t.status === "in_progress")) this.schedule();
    }, this.options.intervalMs ?? 100);
    this.timer.unref?.();
  }

  private draw(): void {
    const tasks = this.order.map((id) => this.tasks.get(id) as Task);
    let lines = renderTree(tasks, { palette: this.options.palette, notes: this.notes, ids: false });
    const rows = this.options.out.rows || 40;
    if (lines.length > rows - 2) lines = this.compact(tasks, Math.max(3, rows - 2));
    this.clear();
    this.options.out.write(`${lines.join("\n")}\n`);
    const columns = this.options.out.columns || 80;
    this.drawnRows = lines.reduce((n, l) => n + Math.max(1, Math.ceil(visibleLength(l) / columns)), 0);
  }

  /** A tree too tall for the terminal: counts, then the running and failed tasks. */
  private compact(tasks: Task[], max: number): string[] {
    const c = this.options.palette;
    const counts = new Map<string, number>();
    for (const t of tasks) counts.set(t.status, (counts.get(t.status) ?? 0) + 1);
    const header = `${tasks.length} tasks: ${[...counts].map(([s, n]) => `${n} ${statusText(s as Task["status"], c)}`).join(", ")}`;
    const interesting = tasks.filter((t) => t.status === "in_progress" || t.status === "failed");
    const lines = interesting.slice(0, max - 1).map((t) => {
      const p = t.status === "in_progress" && t.progress > 0 ? ` ${percent(t.progress)}` : "";
      return `  ${statusText(t.status, c)}${p} ${c.bold(t.name)} ${c.dim(taskDuration(t))}`;
    });
    return [header, ...lines];
  }

  private clear(): void {
    if (this.drawnRows > 0) this.options.out.write(`\x1b[${this.drawnRows}A\x1b[0J`);
    this.drawnRows = 0;
  }

  private eventLine(event: TaskEvent, task: Task | undefined): string {
    const c = this.options.palette;
    const time = c.dim(event.at.slice(11, 23));
    const name = task ? c.bold(task.name) : event.taskId;
    const label = (text: string, status: Task["status"] | "running" | "tree") =>
      status === "tree" ? c.blue(text.padEnd(13)) : paint(status, text.padEnd(13), c);
    const error = event.error ? ` ${c.bold(event.error.code)}: ${event.error.message}` : "";
    switch (event.type) {
      case "tree.started":
        return `${time} ${label("tree started", "tree")} ${name} ${c.dim(event.rootId)}`;
      case "tree.finished":
        return `${time} ${label("tree finished", "tree")} ${name} ${statusText(event.status, c)}`;
      case "task.started":
        return `${time} ${label("started", "running")} ${name} ${c.dim(event.taskId)}`;
      case "task.progress":
        return `${time} ${label("progress", "running")} ${name} ${percent(event.progress ?? 0)}${event.message ? ` ${c.gray(preview(event.message, 120))}` : ""}`;
      case "task.completed":
        return `${time} ${label("completed", "completed")} ${name}${task ? ` ${c.dim(taskDuration(task))}` : ""}`;
      case "task.failed":
        return `${time} ${label("failed", "failed")} ${name}${error}`;
      case "task.cancelled":
        return `${time} ${label("cancelled", "cancelled")} ${name}${error}`;
      case "task.retrying": {
        // The next attempt's time, when it is later than now (a backoff; a lost lease retries at once).
        const next =
          event.retryAt && event.retryAt > event.at ? ` ${c.dim(`next attempt ${event.retryAt.slice(11, 23)}`)}` : "";
        return `${time} ${c.yellow("retrying".padEnd(13))} ${name}${error}${next}`;
      }
      case "task.waiting":
        return `${time} ${c.yellow("waiting".padEnd(13))} ${name} ${String(event.data?.prompt ?? "")}`;
      case "task.resumed":
        return `${time} ${c.yellow("resumed".padEnd(13))} ${name}${event.data?.by ? ` by ${String(event.data.by)}` : ""}`;
      default:
        return `${time} ${event.type.padEnd(13)} ${name}`;
    }
  }
}

/** Apply one event to a task row the way the store did. */
function updateTask(task: Task, event: TaskEvent): void {
  task.status = event.status;
  task.updatedAt = event.at;
  if (event.progress !== undefined) task.progress = event.progress;
  switch (event.type) {
    case "task.started":
      task.startedAt = event.at;
      task.completedAt = null;
      task.error = null;
      break;
    case "task.completed":
      task.completedAt = event.at;
      task.progress = 1;
      if (event.result !== undefined) task.result = event.result;
      break;
    case "task.failed":
    case "task.cancelled":
      task.completedAt = event.at;
      if (event.error !== undefined) task.error = event.error;
      break;
    case "task.retrying":
      task.completedAt = null;
      if (event.error !== undefined) task.error = event.error;
      if (event.retryAt !== undefined) task.runAt = event.retryAt;
      break;
    default:
      break;
  }
}
