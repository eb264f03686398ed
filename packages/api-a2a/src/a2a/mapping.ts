import { randomUUID } from "node:crypto";
import type { Task, TaskEvent } from "@aipartnerupflow/core";
import {
  type Artifact,
  type TaskArtifactUpdateEvent,
  type Message,
  type Part,
  Role,
  type Task as A2aTask,
  type TaskStatusUpdateEvent,
  TaskState,
} from "@a2a-js/sdk";
import type { TreeState } from "../service/task-service.js";

/** pending→submitted, in_progress→working, waiting→input-required, completed, failed, cancelled→canceled. */
export function toA2aState(state: TreeState | Task["status"]): TaskState {
  switch (state) {
    case "pending":
      return TaskState.TASK_STATE_SUBMITTED;
    case "running":
    case "in_progress":
      return TaskState.TASK_STATE_WORKING;
    case "waiting":
      return TaskState.TASK_STATE_INPUT_REQUIRED;
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

/** The root's result as the tree's answer: a data part (wrapped as `{result}` when not an object). */
export function resultArtifact(root: Task): Artifact {
  const value = root.result;
  return {
    artifactId: "result",
    name: "result",
    description: "the result of the tree's root task",
    parts: [dataPart(value !== null && typeof value === "object" && !Array.isArray(value) ? value : { result: value })],
    metadata: undefined,
    extensions: [],
  };
}

/** What a finished tree carries: the root's result (when it completed), then every task's outcome. */
export function finishedArtifacts(tree: Task[]): Artifact[] {
  const root = tree.find((t) => t.parentId === null) ?? tree[0];
  const out: Artifact[] = [];
  if (root && root.status === "completed") out.push(resultArtifact(root));
  out.push(outcomeArtifact(tree));
  return out;
}

/**
 * The closing status message of a finished tree: its state in words and, for a tree that did
 * not complete, the root's error (text and data) so a client sees why without reading artifacts.
 */
export function finalMessage(
  rootId: string,
  contextId: string,
  state: string,
  root: Task | undefined,
  extra: Record<string, unknown> = {},
): Message {
  const error = root && root.status !== "completed" ? root.error : null;
  const text = error ? `tree ${state}: ${error.code}: ${error.message}` : `tree ${state}`;
  return agentMessage(rootId, contextId, [textPart(text), dataPart({ ...extra, ...(error ? { error } : {}) })]);
}

/** The extra A2A-only state kept beside our tasks (history of messages, the client's contextId). */
export interface A2aOverlay {
  contextId?: string;
  artifacts?: Artifact[];
  history?: Message[];
  statusMessage?: Message;
}

/** A root task (the tree) as an A2A task. */
export function toA2aTask(root: Task, state: TaskState, overlay: A2aOverlay | undefined, tree?: Task[]): A2aTask {
  const contextId = overlay?.contextId ?? root.rootId;
  // A failed or cancelled tree says why even when the message that said it is gone (a restart).
  const message =
    overlay?.statusMessage ??
    (TERMINAL_A2A_STATES.has(state) && root.error ? finalMessage(root.id, contextId, root.status, root) : undefined);
  return {
    id: root.id,
    contextId,
    status: {
      state,
      message,
      timestamp: root.completedAt ?? root.startedAt ?? root.updatedAt,
    },
    artifacts: tree ? finishedArtifacts(tree) : [],
    history: overlay?.history ?? [],
    metadata: { rootId: root.rootId, name: root.name, userId: root.userId, createdAt: root.createdAt },
  };
}

/**
 * One task event as an A2A status update of the tree: working until the final `tree.finished`,
 * which carries the tree's outcome state and a closing message. The event rides in `metadata.event`
 * (not in a message, so the task's history does not grow with every event).
 */
export function toStatusUpdate(
  event: TaskEvent,
  rootId: string,
  contextId: string,
  root?: Task,
): TaskStatusUpdateEvent {
  const state = event.type === "tree.finished" ? toA2aState(event.status) : TaskState.TASK_STATE_WORKING;
  return {
    taskId: rootId,
    contextId,
    status: {
      state,
      message:
        event.type === "tree.finished" ? finalMessage(rootId, contextId, event.status, root, { event }) : undefined,
      timestamp: event.at,
    },
    metadata: { event },
  };
}

/** An artifact as a whole (not a chunk) for a task's stream. */
export function artifactUpdate(rootId: string, contextId: string, artifact: Artifact): TaskArtifactUpdateEvent {
  return { taskId: rootId, contextId, artifact, append: false, lastChunk: true, metadata: undefined };
}
