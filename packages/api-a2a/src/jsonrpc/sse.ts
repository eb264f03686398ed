import type { TaskEvent } from "@aipartnerupflow/core";
import type { EventStream } from "./context.js";

const encoder = new TextEncoder();

/** One SSE frame. `id` is the event's `seq`, so `Last-Event-ID` resumes exactly after it. */
export function sseFrame(event: string, data: unknown, id?: number): string {
  return `${id !== undefined ? `id: ${id}\n` : ""}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * An event stream as an SSE response: an `execution` frame with the ids, then one frame per task
 * event (named by its type), ending after `tree.finished`. A client that goes away aborts the
 * subscription. Errors after the head become an `error` frame.
 */
export function sseResponse(stream: EventStream, toError: (err: unknown) => unknown): Response {
  const { events, abort } = stream;
  const body = new ReadableStream<Uint8Array>({
    async start(controller) {
      controller.enqueue(encoder.encode(sseFrame("execution", stream.head)));
    },
    async pull(controller) {
      try {
        const next = await events.next();
        if (next.done) {
          controller.close();
          return;
        }
        const e: TaskEvent = next.value;
        controller.enqueue(encoder.encode(sseFrame(e.type, e, e.seq)));
      } catch (err) {
        controller.enqueue(encoder.encode(sseFrame("error", toError(err))));
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
