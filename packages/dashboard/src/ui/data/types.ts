// The API's shapes, shared with the server packages as types only (nothing of them is bundled).
export type {
  AttemptRecord,
  Execution,
  JsonObject,
  JsonValue,
  Task,
  TaskError,
  TaskEvent,
  TaskStatus,
} from "@aipartnerupflow/core";
import type { AttemptRecord, Execution, JsonObject, Task, TaskStatus } from "@aipartnerupflow/core";

export const STATUSES: readonly TaskStatus[] = [
  "pending",
  "in_progress",
  "waiting",
  "completed",
  "failed",
  "cancelled",
];

export type StatusCounts = Record<TaskStatus, number>;

export interface TaskDetail {
  task: Task;
  attempts: AttemptRecord[];
  executions: Execution[];
}

export interface ExecutorInfo {
  id: string;
  name?: string;
  description?: string;
  tags?: string[];
  cancelable?: boolean;
  inputSchema?: JsonObject;
  outputSchema?: JsonObject;
  examples?: unknown[];
  [key: string]: unknown;
}

export interface QueueStats {
  counts: StatusCounts;
  total: number;
  runningExecutions: number;
  engine?: { running: boolean; active: number; concurrency: number };
  [key: string]: unknown;
}

export interface MethodInfo {
  name: string;
  summary: string;
  streams: boolean;
}
