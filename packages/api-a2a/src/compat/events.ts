import type { JsonValue, TaskEvent } from "@aipartnerupflow/core";
import { toRpcError } from "../errors.js";
import { sseFrame } from "../jsonrpc/sse.js";
import { originalName } from "./fields.js";

/** One event of an original-style `tasks.execute` stream. */
export interface CompatEvent {
  type: string;
  task_id: string;
  root_task_id?: string;
  execution_id?: string | null;
  status?: string;
  progress?: number;
  message?: string;
  result?: JsonValue | null;
  error?: string | null;
  error_code?: string | null;
  final?: boolean;
  timestamp?: string;
  seq?: number;
}

/** An answer that is an SSE stream: the JSON-RPC result first, then the events. */
export interface CompatStream {
  kind: "compat-stream";
  /** Sent first as `data: {"jsonrpc":"2.0","id":…,"result":head}`. */
  head: Record<string, unknown>;
  events: AsyncGenerator<CompatEvent>;
  abort: AbortController;
}

export function isCompatStream(value: unknown): value is CompatStream {
  return typeof value === "object" && value !== null && (value as { kind?: unknown }).kind === "compat-stream";
}

/** One of our events in the original's spelling (`task.completed` → `task_completed`, …). */
export function eventOut(e: TaskEvent): CompatEvent {
  const out: CompatEvent = {
    type: originalName("events", e.type),
    task_id: e.taskId,
    root_task_id: e.rootId,
    execution_id: e.executionId,
    status: e.status,
    final: false,
    timestamp: e.at,
    seq: e.seq,
  };
  if (e.progress !== undefined) out.progress = e.progress;
  if (e.message !== undefined) out.message = e.message;
  if (e.result !== undefined) out.result = e.result;
  if (e.error) {
    out.error = e.error.message;
    out.error_code = e.error.code;
  }
  return out;
}

/**
 * Our events as the original streamed them: each task event renamed, `tree.finished` as the one
 * `final` event (with the root's result or error, which `outcome` reads), then `stream_end`.
 */
export async function* compatEvents(
  source: AsyncGenerator<TaskEvent>,
  outcome: (rootId: string) => Promise<{ result: JsonValue | null; error: string | null; errorCode: string | null }>,
): AsyncGenerator<CompatEvent> {
  try {
    for await (const e of source) {
      const out = eventOut(e);
      if (e.type === "tree.finished") {
        const root = await outcome(e.rootId);
        yield {
          ...out,
          result: root.result,
          error: root.error,
          error_code: root.errorCode,
          final: true,
        };
        yield { type: "stream_end", task_id: e.rootId };
        return;
      }
      yield out;
    }
  } finally {
    await source.return(undefined);
  }
}

const encoder = new TextEncoder();

/**
 * A compat stream as SSE: unnamed (`message`) frames of JSON, the JSON-RPC result first. A client
 * that goes away aborts the subscription; a failure after the head becomes an `error` event.
 */
export function compatSseResponse(stream: CompatStream, id: string | number | null): Response {
  const { events, abort } = stream;
  const rootId = typeof stream.head.root_task_id === "string" ? stream.head.root_task_id : "";
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(encoder.encode(sseFrame("message", { jsonrpc: "2.0", id, result: stream.head })));
    },
    async pull(controller) {
      try {
        const next = await events.next();
        if (next.done) {
          controller.close();
          return;
        }
        controller.enqueue(encoder.encode(sseFrame("message", next.value)));
      } catch (err) {
        const { message } = toRpcError(err);
        controller.enqueue(
          encoder.encode(sseFrame("message", { type: "error", task_id: rootId, error: message, final: true })),
        );
        controller.enqueue(encoder.encode(sseFrame("message", { type: "stream_end", task_id: rootId })));
        controller.close();
      }
    },
    async cancel() {
      abort.abort();
      await events.return(undefined);
    },
  });
  return new Response(body, {
    status: 200,
    headers: {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    },
  });
}
