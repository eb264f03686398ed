import type { TaskEvent } from "../types.js";

export type EventListener = (event: TaskEvent) => void;

/**
 * Live delivery of persisted events. The engine publishes what its store calls returned;
 * subscribers (SSE, A2A streams, MCP, webhooks, `watch`) listen. A multi-node deployment
 * plugs in a bus that also carries other nodes' events (for example PostgreSQL NOTIFY).
 */
export interface EventBus {
  publish(events: readonly TaskEvent[]): void;
  subscribe(listener: EventListener): () => void;
}

/** In-process bus. A listener that throws is isolated from the others. */
export class LocalEventBus implements EventBus {
  private readonly listeners = new Set<EventListener>();

  publish(events: readonly TaskEvent[]): void {
    if (this.listeners.size === 0) return;
    for (const event of events) {
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch {
          // A subscriber's bug must not break delivery to the others or the engine.
        }
      }
    }
  }

  subscribe(listener: EventListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}
