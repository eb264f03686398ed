import type { JsonObject, JsonValue, NewTask, Task, TaskError, TaskStatus } from "../../types.js";
import { cloneJson } from "../../util/json.js";
import type { EventSubject } from "../rules.js";
import type { AttemptRecord } from "../types.js";

/** MemoryStore's record of one task, and the helpers that read and copy it. */

/** An edge of the reverse index: the dependent's row itself (no lookup by id when it is released). */
export interface Edge {
  row: Row;
  required: boolean;
}

/** The in-memory record of one task: the public task plus what the store keeps beside it. */
export interface Row {
  task: Task;
  ordinal: number;
  /** Dependencies not yet resolved (required: not completed; optional: not terminal). */
  unresolved: number;
  /** Reverse index: the tasks that depend on this one. */
  dependents: Edge[] | undefined;
  /** The rows of `task.dependencies`, in their order (set once the batch that created it is stored). */
  upstream: readonly Row[];
  executionId: string | null;
  leaseOwner: string | null;
  leaseToken: string | null;
  leaseExpiresAt: number;
  cancelRequested: boolean;
  queued: boolean;
  checkpoint: JsonValue | null;
  /** Attempts that ended without leaving their outcome on the task (retried, reclaimed, re-run). */
  attempts: AttemptRecord[] | undefined;
  /** Owner of the current (or last) attempt. */
  lastOwner: string | null;
  /** The `runAt` the user asked for; a retry's backoff overrides `task.runAt` until a re-run. */
  userRunAt: string | null;
  /** Dependency affinity of its execution: a completed dependency places it on its owner. */
  placeFollows: boolean;
}

const EMPTY_OBJECT = Object.freeze({}) as JsonObject;
const EMPTY_DEPENDENCIES = Object.freeze([]) as unknown as Task["dependencies"];
/** The `upstream` of a row without dependencies. */
export const NO_ROWS: readonly Row[] = Object.freeze([]);

function isEmptyObject(value: object): boolean {
  for (const _ in value) return false;
  return true;
}

/**
 * The store's own copy of a new task (`snapshot` of it, never updated yet). Empty objects and
 * dependency lists are one shared frozen value (most tasks have no metadata, schemas or
 * dependencies): big trees save a few hundred bytes per task. Safe because the store replaces
 * these fields whole and every read goes through `snapshot`, which copies.
 */
export function storedCopy(t: NewTask): Task {
  return {
    id: t.id,
    parentId: t.parentId,
    rootId: t.rootId,
    userId: t.userId,
    name: t.name,
    status: t.status,
    priority: t.priority,
    dependencies:
      t.dependencies.length === 0
        ? EMPTY_DEPENDENCIES
        : t.dependencies.map((d) => ({ id: d.id, required: d.required })),
    inputs: copyOrEmpty(t.inputs),
    params: copyOrEmpty(t.params),
    schemas: copyOrEmpty(t.schemas as JsonObject),
    result: cloneJson(t.result),
    error: t.error ? (cloneJson(t.error as unknown as JsonObject) as unknown as Task["error"]) : null,
    progress: t.progress,
    attempt: t.attempt,
    retry: t.retry ? (cloneJson(t.retry as unknown as JsonObject) as unknown as Task["retry"]) : null,
    runAt: t.runAt,
    originalTaskId: t.originalTaskId,
    hasChildren: false,
    metadata: copyOrEmpty(t.metadata),
    createdAt: t.createdAt,
    updatedAt: t.createdAt,
    startedAt: t.startedAt,
    completedAt: t.completedAt,
    wait: t.wait ? (cloneJson(t.wait as unknown as JsonObject) as unknown as Task["wait"]) : null,
    placement: t.placement ? (cloneJson(t.placement as unknown as JsonObject) as unknown as Task["placement"]) : null,
    placedOn: t.placedOn ?? null,
  };
}

const copyDependency = (d: Task["dependencies"][number]): Task["dependencies"][number] => ({
  id: d.id,
  required: d.required,
});

function copyDependencies(deps: Task["dependencies"]): Task["dependencies"] {
  return deps.length === 0 ? [] : deps.map(copyDependency);
}

/** A fresh copy of a stored JSON object field (the shared empty one needs no walk). */
function copyObject(value: JsonObject): JsonObject {
  return value === EMPTY_OBJECT ? {} : cloneJson(value);
}

function copyOrEmpty(value: JsonObject): JsonObject {
  return isEmptyObject(value) ? EMPTY_OBJECT : cloneJson(value);
}

/**
 * A copy of a task that shares nothing mutable with the store. Written as one object literal
 * so that every task has the same hidden class (spreads of 25 fields end up in slow mode).
 */
export function snapshot(t: NewTask, hasChildren = (t as Task).hasChildren, updatedAt = (t as Task).updatedAt): Task {
  return {
    id: t.id,
    parentId: t.parentId,
    rootId: t.rootId,
    userId: t.userId,
    name: t.name,
    status: t.status,
    priority: t.priority,
    dependencies: copyDependencies(t.dependencies),
    inputs: copyObject(t.inputs),
    params: copyObject(t.params),
    schemas: copyObject(t.schemas as JsonObject),
    result: cloneJson(t.result),
    error: t.error ? (cloneJson(t.error as unknown as JsonObject) as unknown as Task["error"]) : null,
    progress: t.progress,
    attempt: t.attempt,
    retry: t.retry ? (cloneJson(t.retry as unknown as JsonObject) as unknown as Task["retry"]) : null,
    runAt: t.runAt,
    originalTaskId: t.originalTaskId,
    hasChildren,
    metadata: copyObject(t.metadata),
    createdAt: t.createdAt,
    updatedAt,
    startedAt: t.startedAt,
    completedAt: t.completedAt,
    wait: t.wait ? (cloneJson(t.wait as unknown as JsonObject) as unknown as Task["wait"]) : null,
    placement: t.placement ? (cloneJson(t.placement as unknown as JsonObject) as unknown as Task["placement"]) : null,
    placedOn: t.placedOn ?? null,
  };
}

export function subjectOf(row: Row): EventSubject {
  return { taskId: row.task.id, rootId: row.task.rootId, executionId: row.executionId };
}

export function runAtMs(row: Row): number {
  return row.task.runAt === null ? 0 : Date.parse(row.task.runAt);
}

export function currentAttempt(row: Row): AttemptRecord {
  const { task } = row;
  const running = task.status === "in_progress" || task.status === "waiting";
  return {
    attempt: task.attempt,
    startedAt: task.startedAt as string,
    endedAt: running ? null : task.completedAt,
    status: task.status,
    error: running ? null : task.error,
    owner: row.lastOwner,
  };
}

/** Keep the record of an attempt whose outcome the task is about to lose (retry, reclaim, re-run). */
export function recordEndedAttempt(row: Row, endedAt: string, status: TaskStatus, error: TaskError | null): void {
  if (row.task.startedAt === null || row.task.attempt <= (row.attempts?.length ?? 0)) return;
  (row.attempts ??= []).push({
    attempt: row.task.attempt,
    startedAt: row.task.startedAt,
    endedAt,
    status,
    error,
    owner: row.lastOwner,
  });
}
