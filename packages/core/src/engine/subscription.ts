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
}

const PAGE = 500;

/**
 * Persisted events after `afterSeq`, then live ones, each exactly once and in order; ends after
 * the final event (SPEC §5.5). Listening starts before the replay, so nothing falls between.
 */
export async function* subscribeEvents(
  store: TaskStore,
  bus: EventBus,
  query: SubscribeQuery,
): AsyncGenerator<TaskEvent> {
  const matches = (e: TaskEvent): boolean =>
    (query.rootId === undefined || e.rootId === query.rootId) &&
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
  const unsubscribe = bus.subscribe((e) => {
    if (matches(e)) {
      buffer.push(e);
      notify();
    }
  });
  const onAbort = (): void => notify();
  query.signal?.addEventListener("abort", onAbort);
  const seen = new Set<number>();
  let last = query.afterSeq ?? 0;

  const readStore = async function* (): AsyncGenerator<TaskEvent, boolean> {
    for (;;) {
      const page = await store.readEvents({
        rootId: query.rootId,
        executionId: query.executionId,
        afterSeq: last,
        limit: PAGE,
      });
      for (const e of page) {
        last = Math.max(last, e.seq);
        if (seen.has(e.seq) || !matches(e)) continue;
        seen.add(e.seq);
        yield e;
        if (ends(e)) return true;
      }
      if (page.length < PAGE) return false;
    }
  };

  try {
    if (yield* readStore()) return;
    while (!query.signal?.aborted) {
      while (buffer.length > 0) {
        const e = buffer.shift() as TaskEvent;
        if (seen.has(e.seq) || e.seq <= (query.afterSeq ?? 0)) continue;
        seen.add(e.seq);
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
