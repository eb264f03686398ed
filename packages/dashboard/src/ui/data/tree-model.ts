import { STATUSES, type StatusCounts, type Task, type TaskEvent, type TaskStatus } from "./types.js";

/** A tree as the page holds it: tasks by id, in the server's order, plus the last event applied. */
export interface TreeModel {
  rootId: string;
  tasks: ReadonlyMap<string, Task>;
  order: readonly string[];
  /** Changes only when tasks, parents or dependencies change: then the graph is laid out again. */
  structureKey: string;
  lastSeq: number;
}

export function buildTree(tasks: readonly Task[], lastSeq = 0): TreeModel {
  if (tasks.length === 0) throw new Error("a tree has at least its root task");
  const map = new Map<string, Task>();
  for (const t of tasks) map.set(t.id, t);
  const root = tasks.find((t) => t.parentId === null) ?? (tasks[0] as Task);
  return {
    rootId: root.rootId,
    tasks: map,
    order: tasks.map((t) => t.id),
    structureKey: structureKey(tasks),
    lastSeq,
  };
}

/** What decides the layout: ids, parents and dependency edges (not statuses). */
export function structureKey(tasks: readonly Task[]): string {
  let h = 2166136261;
  const add = (s: string) => {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  };
  for (const t of tasks) {
    add(t.id);
    add(`<${t.parentId ?? ""}`);
    for (const d of t.dependencies) add(`>${d.id}${d.required ? "!" : "?"}`);
  }
  return `${tasks.length}:${(h >>> 0).toString(36)}`;
}

export interface ApplyResult {
  model: TreeModel;
  /** Task ids whose state changed. */
  changed: Set<string>;
  /** The events say the tree changed in ways they do not carry (new tasks, a new run): fetch it again. */
  refetch: boolean;
}

/**
 * Events applied to a tree in seq order; ones already applied (seq ≤ lastSeq) are skipped, so a
 * replay after reconnecting is harmless. Returns a new model (the old one is not changed).
 */
export function applyEvents(model: TreeModel, events: readonly TaskEvent[]): ApplyResult {
  const changed = new Set<string>();
  let refetch = false;
  let tasks: Map<string, Task> | null = null;
  let lastSeq = model.lastSeq;
  for (const e of events) {
    if (e.seq <= lastSeq) continue;
    lastSeq = e.seq;
    if (e.rootId !== model.rootId) continue;
    if (e.type === "tree.started" || e.type === "tree.finished") {
      // A run resets tasks it re-runs without an event per task; a finished run is re-read whole.
      refetch = true;
      continue;
    }
    const current = (tasks ?? model.tasks).get(e.taskId);
    if (!current) {
      refetch = true;
      continue;
    }
    const next = taskAfter(current, e);
    if (next !== current) {
      tasks ??= new Map(model.tasks);
      tasks.set(e.taskId, next);
      changed.add(e.taskId);
    }
  }
  if (!tasks && lastSeq === model.lastSeq) return { model, changed, refetch };
  return { model: { ...model, tasks: tasks ?? model.tasks, lastSeq }, changed, refetch };
}

/** One task after one of its events. */
export function taskAfter(task: Task, e: TaskEvent): Task {
  const next: Task = { ...task, status: e.status, updatedAt: e.at };
  switch (e.type) {
    case "task.created":
      return task;
    case "task.started":
      next.startedAt = e.at;
      next.completedAt = null;
      next.error = null;
      next.progress = e.progress ?? 0;
      break;
    case "task.progress":
      if (e.progress !== undefined) next.progress = e.progress;
      break;
    case "task.completed":
      next.completedAt = e.at;
      next.progress = 1;
      if (e.result !== undefined) next.result = e.result;
      break;
    case "task.failed":
    case "task.cancelled":
      next.completedAt = e.at;
      if (e.error !== undefined) next.error = e.error;
      break;
    case "task.retrying":
      next.attempt = task.attempt + 1;
      if (e.error !== undefined) next.error = e.error;
      break;
  }
  return next;
}

export function emptyCounts(): StatusCounts {
  return { pending: 0, in_progress: 0, waiting: 0, completed: 0, failed: 0, cancelled: 0 };
}

export function countByStatus(tasks: Iterable<Task>): StatusCounts {
  const counts = emptyCounts();
  for (const t of tasks) counts[t.status]++;
  return counts;
}

/** Finished share of a tree, 0..1 (failed and cancelled tasks are finished too). */
export function treeProgress(counts: StatusCounts): number {
  const total = STATUSES.reduce((n, s) => n + counts[s], 0);
  if (total === 0) return 0;
  return (counts.completed + counts.failed + counts.cancelled) / total;
}

export const TERMINAL: ReadonlySet<TaskStatus> = new Set(["completed", "failed", "cancelled"]);

/** Milliseconds a task ran (until now while it runs); null before it started. */
export function taskDurationMs(task: Pick<Task, "startedAt" | "completedAt">, now: number): number | null {
  if (!task.startedAt) return null;
  const start = Date.parse(task.startedAt);
  const end = task.completedAt ? Date.parse(task.completedAt) : now;
  return Math.max(0, end - start);
}

export interface WaitingReason {
  kind: "scheduled" | "dependencies" | "blocked" | "retrying" | "ready" | "idle";
  text: string;
  /** ISO time the task has been waiting since. */
  since: string;
}

/**
 * Why a pending task has not started, derived from the tree (the API has no field for it):
 * a future `runAt`, unfinished dependencies, a failed required dependency, a retry back-off, or
 * ready and waiting for a worker (`running` tells whether an execution runs the tree now).
 */
export function waitingReason(task: Task, model: TreeModel, running: boolean, now: number): WaitingReason | null {
  if (task.status !== "pending") return null;
  const since = task.updatedAt ?? task.createdAt;
  if (task.runAt && Date.parse(task.runAt) > now) {
    return {
      kind: task.error ? "retrying" : "scheduled",
      text: `${task.error ? "retry" : "runs"} at ${task.runAt}`,
      since,
    };
  }
  const deps = task.dependencies.map((d) => ({ d, t: model.tasks.get(d.id) }));
  const broken = deps.find(({ d, t }) => d.required && t && (t.status === "failed" || t.status === "cancelled"));
  if (broken?.t) {
    return { kind: "blocked", text: `required dependency ${broken.t.name} ${broken.t.status}`, since };
  }
  const open = deps.filter(({ t }) => !t || !TERMINAL.has(t.status));
  if (open.length > 0) {
    const names = open.slice(0, 3).map(({ d, t }) => t?.name ?? d.id);
    const more = open.length > 3 ? ` and ${open.length - 3} more` : "";
    return {
      kind: "dependencies",
      text: `waiting for ${open.length === 1 ? "dependency" : `${open.length} dependencies`}: ${names.join(", ")}${more}`,
      since,
    };
  }
  if (task.error) return { kind: "retrying", text: `will retry after: ${task.error.message}`, since };
  if (running) return { kind: "ready", text: "ready: waiting for a free worker", since };
  return { kind: "idle", text: "not queued: no run of this tree is going on", since };
}

/** The executor a task names: `params.executorId`, then `schemas.method`; null for a grouping task. */
export function executorOf(task: Pick<Task, "params" | "schemas">): string | null {
  const p = task.params?.executorId;
  if (typeof p === "string" && p) return p;
  const m = task.schemas?.method;
  return typeof m === "string" && m ? m : null;
}
