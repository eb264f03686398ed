import type { JsonValue, Task, TaskStatus } from "@aipartnerupflow/core";
import type { Palette } from "./colors.js";

const ICONS: Record<TaskStatus, string> = {
  pending: "○",
  in_progress: "◐",
  waiting: "◇",
  completed: "✔",
  failed: "✖",
  cancelled: "⊘",
};

export function statusIcon(status: TaskStatus, c: Palette): string {
  return paint(status, ICONS[status], c);
}

/** The status word, coloured: green completed, red failed, yellow cancelled, cyan running. */
export function statusText(status: TaskStatus | "running", c: Palette): string {
  return paint(status, status, c);
}

/** Any text in the colour of a status. */
export function paint(status: TaskStatus | "running", s: string, c: Palette): string {
  switch (status) {
    case "completed":
      return c.green(s);
    case "failed":
      return c.red(s);
    case "cancelled":
      return c.yellow(s);
    case "in_progress":
    case "running":
      return c.cyan(s);
    case "waiting":
      return c.yellow(s);
    default:
      return c.gray(s);
  }
}

/** `850ms`, `1.2s`, `3m04s`. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  const m = Math.floor(ms / 60_000);
  const s = Math.round((ms % 60_000) / 1000);
  return `${m}m${String(s).padStart(2, "0")}s`;
}

/**
 * How long a task ran (or has been running, given `now`). A pending task has no duration, even
 * when an earlier attempt left `startedAt` behind (handed back by a stopping node, waiting for a
 * retry): it is not running, so no clock ticks for it.
 */
export function taskDuration(
  task: Pick<Task, "status" | "startedAt" | "completedAt">,
  now: number = Date.now(),
): string {
  if (!task.startedAt || task.status === "pending") return "";
  const start = Date.parse(task.startedAt);
  const end = task.completedAt ? Date.parse(task.completedAt) : now;
  return formatDuration(end - start);
}

export function percent(progress: number): string {
  return `${Math.round(Math.max(0, Math.min(1, progress)) * 100)}%`;
}

/** A one-line preview of a JSON value, at most `max` characters. */
export function preview(value: JsonValue | undefined, max = 80): string {
  if (value === undefined) return "";
  const text = typeof value === "string" ? value : JSON.stringify(value);
  const flat = text.replace(/\s+/g, " ").trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

export function formatTime(iso: string | null): string {
  if (!iso) return "";
  const d = new Date(iso);
  return Number.isNaN(d.getTime())
    ? iso
    : d
        .toISOString()
        .replace("T", " ")
        .replace(/\.\d+Z$/, "Z");
}
