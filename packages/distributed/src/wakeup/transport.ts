/**
 * What a wake-up says: work may have become claimable (`work`: claim now), and/or events were
 * appended to the store (`events`: read them after the last seq seen). `origin` names the node
 * that sent it (its engine's owner), so a node ignores its own; PostgreSQL's trigger sends none.
 */
export interface WakeupMessage {
  work: boolean;
  events: boolean;
  origin?: string;
  /** The newest event seq the write appended, when known (a node that delivered it skips the read). */
  seq?: number;
}

/** What a transport reports to the node it serves. */
export interface WakeupHandlers {
  message(message: WakeupMessage): void;
  /**
   * The connection went down (`err` says why) or came back. While down, the node polls; on
   * coming back it claims and reads once (messages sent in between are lost).
   */
  state(state: "up" | "down", err?: unknown): void;
}

/**
 * Carries wake-ups between the nodes of one deployment. Delivery is best effort (at most once,
 * possibly folded): a lost message costs a poll interval, never a task, because the store is the
 * truth and polling stays on as the fallback.
 */
export interface WakeupTransport {
  /** `postgres`, `redis`, `nats`, `amqp` or `polling` (logs and benchmarks name it). */
  readonly name: string;
  /**
   * Whether the store's writes signal by themselves (PostgreSQL: the `events_notify` trigger),
   * so the node publishes nothing. Otherwise the node publishes for the writes it makes. Read at
   * every write (it may change once connected).
   */
  readonly signalsWrites: boolean;
  /**
   * Connect and listen. Resolves once listening; rejects when the server cannot be reached, and
   * keeps trying in the background (reporting `up` through `handlers.state` when it succeeds).
   */
  start(handlers: WakeupHandlers): Promise<void>;
  /** Send to every node (best effort; never throws). */
  publish(message: WakeupMessage): Promise<void>;
  /** Stop listening and close the connections. */
  close(): Promise<void>;
}

/** Wire form of a message for the broker transports: `w`, `e` or `we`, then `:` and the origin. */
export function encodeMessage(m: WakeupMessage): string {
  return `${m.work ? "w" : ""}${m.events ? "e" : ""}:${m.origin ?? ""}`;
}

export function decodeMessage(text: string): WakeupMessage | null {
  const i = text.indexOf(":");
  if (i < 0) return null;
  const flags = text.slice(0, i);
  const origin = text.slice(i + 1);
  const m: WakeupMessage = { work: flags.includes("w"), events: flags.includes("e") };
  if (origin) m.origin = origin;
  return m.work || m.events ? m : null;
}

/** Delay before the next reconnect attempt: doubling from 100 ms to 5 s. */
export function backoff(attempt: number): number {
  return Math.min(5000, 100 * 2 ** Math.min(attempt, 6));
}
