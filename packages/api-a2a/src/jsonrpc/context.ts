import type { Logger, TaskEvent } from "@aipartnerupflow/core";
import type { TaskService } from "../service/task-service.js";
import type { Principal } from "../types.js";
import type { WebhookDispatcher } from "./webhook.js";

/** What a JSON-RPC method handler receives besides its params. */
export interface MethodContext {
  principal: Principal;
  service: TaskService;
  /** Delivers `tasks.execute` webhooks; absent on surfaces without them (MCP over stdio). */
  webhooks?: WebhookDispatcher;
  /** Per-request secrets from `X-LLM-API-KEY` (never stored). */
  secrets: Record<string, string> | undefined;
  /** The `Last-Event-ID` header of a reconnecting SSE client. */
  lastEventId: number | undefined;
  log: Logger;
  version: string;
  startedAt: number;
}

/** A method may answer with a stream of events; the route turns it into SSE. */
export interface EventStream {
  kind: "event-stream";
  /** Sent first, as an `execution` SSE event (ids the client needs to resume). */
  head: Record<string, string | number | null>;
  events: AsyncGenerator<TaskEvent>;
  abort: AbortController;
}

export function isEventStream(value: unknown): value is EventStream {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "event-stream";
}
