import type {
  AttemptRecord,
  Execution,
  JsonObject,
  JsonValue,
  Priority,
  RetryPolicy,
  Task,
  TaskDependency,
  TaskError,
  TaskSchemas,
  TaskStatus,
} from "@aipartnerupflow/core";
import type {
  Attempt as AttemptModel,
  Execution as ExecutionModel,
  Task as TaskModel,
} from "../generated/sqlite/client.js";

/** Conversions from Prisma's models (camelCase, Dates, parsed JSON) to core's shapes. */

const iso = (d: Date | null): string | null => (d === null ? null : d.toISOString());
const json = <T>(v: unknown): T => (v === undefined ? null : v) as T;

export function taskFromModel(m: TaskModel): Task {
  return {
    id: m.id,
    parentId: m.parentId,
    rootId: m.rootId,
    userId: m.userId,
    name: m.name,
    status: m.status as TaskStatus,
    priority: m.priority as Priority,
    dependencies: json<TaskDependency[]>(m.dependencies) ?? [],
    inputs: json<JsonObject>(m.inputs) ?? {},
    params: json<JsonObject>(m.params) ?? {},
    schemas: json<TaskSchemas>(m.schemas) ?? {},
    result: json<JsonValue>(m.result),
    error: json<TaskError | null>(m.error),
    progress: m.progress,
    attempt: m.attempt,
    retry: json<RetryPolicy | null>(m.retry),
    runAt: iso(m.runAt),
    originalTaskId: m.originalTaskId,
    hasChildren: m.hasChildren,
    metadata: json<JsonObject>(m.metadata) ?? {},
    createdAt: m.createdAt.toISOString(),
    updatedAt: m.updatedAt.toISOString(),
    startedAt: iso(m.startedAt),
    completedAt: iso(m.completedAt),
  };
}

export function executionFromModel(m: ExecutionModel): Execution {
  return {
    id: m.id,
    rootId: m.rootId,
    taskId: m.taskId,
    status: m.status as Execution["status"],
    cancelRequested: m.cancelRequested,
    remaining: m.remaining,
    total: m.total,
    demo: m.demo,
    userId: m.userId,
    createdAt: m.createdAt.toISOString(),
    finishedAt: iso(m.finishedAt),
  };
}

export function attemptFromModel(m: AttemptModel): AttemptRecord {
  return {
    attempt: m.attempt,
    startedAt: m.startedAt.toISOString(),
    endedAt: iso(m.endedAt),
    status: m.status as TaskStatus,
    error: json<TaskError | null>(m.error),
    owner: m.owner,
  };
}
