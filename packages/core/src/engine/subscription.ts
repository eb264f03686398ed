import { NotFoundError } from "../errors.js";
import type { TaskStore } from "../store/types.js";
import type { TaskEvent } from "../types.js";
import type { EventBus } from "./event-bus.js";

export interface SubscribeQuery {
  rootId?: string;
  taskId?: string;
  executionId?: string;
  /** Resume after this sequence number (the last one the client saw). */
  afterSeq?: number;
  /**
   * When the stream ends: `finished` (default) after the `tree.finished` event of the
   * execution (or, without `executionId`, the first one after `afterSeq`); `never` to follow.
   */
  until?: "finished" | "never";
  /** Also re-read the store this often (events written by other nodes without a shared bus). */
  pollMs?: number;
  signal?: AbortSignal;
  /** Live events held for a slow consumer before it is switched to reading the store (10,000). */
  maxBuffered?: number;
}

const PAGE = 500;
const MAX_BUFFERED = 10_000;

/**
 * Persisted events after `afterSeq`, then live ones, each exactly once and in order; ends after
 * the final event (docs/semantics.md#hooks-and-events). Listening starts before the replay, so nothing falls between.
 */
export async function* subscribeEvents(
  store: TaskStore,
  bus: EventBus,
  query: SubscribeQuery,
): AsyncGenerator<TaskEvent> {
  // A task's stream ends with its own tree's final event: its root is looked up once.
  let rootId = query.rootId;
  const matches = (e: TaskEvent): boolean =>
    (rootId === undefined || e.rootId === rootId) &&
    (query.taskId === undefined || e.taskId === query.taskId || e.type === "tree.finished") &&
    (query.executionId === undefined || e.executionId === query.executionId);
  const ends = (e: TaskEvent): boolean => query.until !== "never" && e.type === "tree.finished";

  const buffer: TaskEvent[] = [];
  let wake: (() => void) | null = null;
  const notify = (): void => {
    const w = wake;
    wake = null;
    w?.();
  };
  // A consumer slower than the tree must not hold every event in memory: past this many the
  // live buffer is dropped and the stream catches up from the store, which has them all.
  let overflowed = false;
  const unsubscribe = bus.subscribe((e) => {
    if (!matches(e)) return;
    if (buffer.length >= (query.maxBuffered ?? MAX_BUFFERED)) {
      buffer.length = 0;
      overflowed = true;
    } else if (!overflowed) {
      buffer.push(e);
    }
    notify();
  });
  const onAbort = (): void => notify();
  query.signal?.addEventListener("abort", onAbort);
  const seen = new Set<number>();
  let last = query.afterSeq ?? 0;
  const remember = (seq: number): void => {
    seen.add(seq);
    // Only recent sequence numbers can still arrive out of order: keep the set small.
    if (seen.size > 4096) for (const old of seen) if (old < last - 4096) seen.delete(old);
  };

  const readStore = async function* (): AsyncGenerator<TaskEvent, boolean> {
    for (;;) {
      const page = await store.readEvents({
        rootId,
        executionId: query.executionId,
        afterSeq: last,
        limit: PAGE,
      });
      for (const e of page) {
        last = Math.max(last, e.seq);
        if (seen.has(e.seq) || !matches(e)) continue;
        remember(e.seq);
        yield e;
        if (ends(e)) return true;
      }
      if (page.length < PAGE) return false;
    }
  };

  try {
    if (query.taskId !== undefined && rootId === undefined) {
      const task = await store.getTask(query.taskId);
      if (!task) throw new NotFoundError("task", query.taskId);
      rootId = task.rootId;
    }
    if (yield* readStore()) return;
    while (!query.signal?.aborted) {
      if (overflowed) {
        overflowed = false;
        if (yield* readStore()) return;
      }
      while (buffer.length > 0) {
        const e = buffer.shift() as TaskEvent;
        if (seen.has(e.seq) || e.seq <= (query.afterSeq ?? 0) || !matches(e)) continue;
        remember(e.seq);
        last = Math.max(last, e.seq);
        yield e;
        if (ends(e)) return;
      }
      let timer: NodeJS.Timeout | undefined;
      await new Promise<void>((resolve) => {
        wake = resolve;
        if (query.pollMs !== undefined) timer = setTimeout(resolve, query.pollMs);
      });
      if (timer) clearTimeout(timer);
      if (query.pollMs !== undefined && buffer.length === 0) {
        if (yield* readStore()) return;
      }
    }
  } finally {
    unsubscribe();
    query.signal?.removeEventListener("abort", onAbort);
  }
}
