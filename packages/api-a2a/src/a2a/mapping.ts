import { randomUUID } from "node:crypto";
import type { Task, TaskEvent } from "@aipartnerupflow/core";
import {
  type Artifact,
  type Message,
  type Part,
  Role,
  type Task as A2aTask,
  type TaskStatusUpdateEvent,
  TaskState,
} from "@a2a-js/sdk";
import type { TreeState } from "../service/task-service.js";

/** SPEC §8.1: pending→submitted, in_progress→working, completed, failed, cancelled→canceled. */
export function toA2aState(state: TreeState | Task["status"]): TaskState {
  switch (state) {
    case "pending":
      return TaskState.TASK_STATE_SUBMITTED;
    case "running":
    case "in_progress":
      return TaskState.TASK_STATE_WORKING;
    case "completed":
      return TaskState.TASK_STATE_COMPLETED;
    case "failed":
      return TaskState.TASK_STATE_FAILED;
    case "cancelled":
      return TaskState.TASK_STATE_CANCELED;
  }
}

export const TERMINAL_A2A_STATES: ReadonlySet<TaskState> = new Set([
  TaskState.TASK_STATE_COMPLETED,
  TaskState.TASK_STATE_FAILED,
  TaskState.TASK_STATE_CANCELED,
  TaskState.TASK_STATE_REJECTED,
]);

export function dataPart(value: unknown): Part {
  return { content: { $case: "data", value }, metadata: undefined, filename: "", mediaType: "application/json" };
}

export function textPart(value: string): Part {
  return { content: { $case: "text", value }, metadata: undefined, filename: "", mediaType: "text/plain" };
}

export function agentMessage(taskId: string, contextId: string, parts: Part[]): Message {
  return {
    messageId: randomUUID(),
    contextId,
    taskId,
    role: Role.ROLE_AGENT,
    parts,
    metadata: undefined,
    extensions: [],
    referenceTaskIds: [],
  };
}

/** The tree's outcome as one artifact: every task's status, result and error. */
export function outcomeArtifact(tree: Task[]): Artifact {
  return {
    artifactId: "tree-result",
    name: "tree-result",
    description: "status, result and error of every task of the tree",
    parts: [
      dataPart({
        tasks: tree.map((t) => ({
          id: t.id,
          name: t.name,
          parentId: t.parentId,
          status: t.status,
          result: t.result,
          error: t.error,
        })),
      }),
    ],
    metadata: undefined,
    extensions: [],
  };
}

/** The extra A2A-only state kept beside our tasks (history of messages, the client's contextId). */
export interface A2aOverlay {
  contextId?: string;
  history?: Message[];
  statusMessage?: Message;
}

/** A root task (the tree) as an A2A task. */
export function toA2aTask(root: Task, state: TaskState, overlay: A2aOverlay | undefined, tree?: Task[]): A2aTask {
  const contextId = overlay?.contextId ?? root.rootId;
  return {
    id: root.id,
    contextId,
    status: {
      state,
      message: overlay?.statusMessage,
      timestamp: root.completedAt ?? root.startedAt ?? root.updatedAt,
    },
    artifacts: tree ? [outcomeArtifact(tree)] : [],
    history: overlay?.history ?? [],
    metadata: { rootId: root.rootId, name: root.name, userId: root.userId, createdAt: root.createdAt },
  };
}

/**
 * One task event as an A2A status update of the tree: working until the final `tree.finished`,
 * which carries the tree's outcome state and a closing message. The event rides in `metadata.event`
 * (not in a message, so the task's history does not grow with every event).
 */
export function toStatusUpdate(event: TaskEvent, rootId: string, contextId: string): TaskStatusUpdateEvent {
  const state = event.type === "tree.finished" ? toA2aState(event.status) : TaskState.TASK_STATE_WORKING;
  return {
    taskId: rootId,
    contextId,
    status: {
      state,
      message:
        event.type === "tree.finished"
          ? agentMessage(rootId, contextId, [textPart(`tree ${event.status}`), dataPart({ event })])
          : undefined,
      timestamp: event.at,
    },
    metadata: { event },
  };
}
