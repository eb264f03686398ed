import { deriveIdempotencyKey, type JsonValue } from "@aipartnerupflow/core";
import type { Message } from "@a2a-js/sdk";

/** What the handler decided for one incoming message, handed to the executor through the call context. */
export type MessagePlan =
  | { kind: "tree"; rootId: string }
  | { kind: "existing"; rootId: string }
  /** The message answered a waiting task of the tree: follow the tree from `afterSeq` on. */
  | { kind: "resumed"; rootId: string; afterSeq: number }
  /** The message's `messageId` was seen before for this caller: its tree, not a new one. */
  | { kind: "seen"; rootId: string }
  | { kind: "reply"; method: string; result: JsonValue | null };

export const PLAN_KEY = "apflow.plan";

/**
 * The idempotency key of a message (per caller): a retried message (same `messageId`) answers the
 * tree the first one created. `step`: `create` for its tree, `run` for its execution.
 */
export function messageKey(message: Message, step: "create" | "run"): string | undefined {
  return message.messageId ? deriveIdempotencyKey(message.messageId, `a2a-${step}`) : undefined;
}

/** The first data part's value, if the message has one. */
export function dataOf(message: Message): unknown {
  for (const part of message.parts) if (part.content?.$case === "data") return part.content.value;
  return undefined;
}

/** `{tasks: [...]}` (or a bare array) in a data part: the tree to create. */
export function tasksOf(data: unknown): unknown[] | undefined {
  if (Array.isArray(data)) return data;
  if (data && typeof data === "object" && Array.isArray((data as { tasks?: unknown }).tasks)) {
    return (data as { tasks: unknown[] }).tasks;
  }
  return undefined;
}

/** `metadata.method` of the message (or of the request) names another task operation. */
export function methodOf(message: Message, requestMetadata: Record<string, unknown> | undefined): string | undefined {
  const m = message.metadata?.method ?? requestMetadata?.method;
  return typeof m === "string" && m.length > 0 ? m : undefined;
}
