import { AuthRequiredError, type RpcClient } from "./rpc.js";
import type { Task, TaskEvent } from "./types.js";

export interface FollowHandlers {
  /** The whole tree (first load, and again whenever events say it changed shape or a run began/ended). */
  onTree(tasks: Task[]): void;
  /**
   * Events in seq order, batched (at most one call per `flushMs`). `history` marks the stored
   * events read at first: the tree already reflects them, they are for the event log only.
   */
  onEvents(events: TaskEvent[], history: boolean): void;
  /** Whether a run of the tree is being followed live right now. */
  onLive(live: boolean): void;
  onError(err: unknown): void;
}

export interface FollowOptions {
  /** Pause between looks at a tree that is not running (ms). */
  idleMs?: number;
  /** How long events are gathered before they are handed over (ms). */
  flushMs?: number;
  /** The most stored events read at first (newest kept). */
  historyLimit?: number;
}

const PAGE = 10_000;

/**
 * Keeps a tree up to date from the public API only: reads it (`tasks.tree`) and its stored events
 * (`tasks.events`), then follows the event stream (`tasks.events` with `stream: true`, resuming
 * after the last seq). When nothing runs the stream replays and ends; the follower looks again
 * every `idleMs`, so a run started elsewhere (CLI, another page) is picked up too.
 */
export class TreeFollower {
  private abort = new AbortController();
  private pending: TaskEvent[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private lastSeq = 0;
  private stopped = false;
  private readonly idleMs: number;
  private readonly flushMs: number;
  private readonly historyLimit: number;

  constructor(
    private readonly client: RpcClient,
    private readonly rootId: string,
    private readonly handlers: FollowHandlers,
    options: FollowOptions = {},
  ) {
    this.idleMs = options.idleMs ?? 2000;
    this.flushMs = options.flushMs ?? 100;
    this.historyLimit = options.historyLimit ?? 50_000;
  }

  /** Runs until `stop()`; errors go to `onError` and the loop retries after `idleMs` (auth errors end it). */
  async run(): Promise<void> {
    let first = true;
    while (!this.stopped) {
      try {
        if (first) {
          // History first: the tree read after it reflects at least every event in it.
          await this.loadHistory();
          await this.loadTree();
          first = false;
        }
        const refetch = await this.followOnce();
        if (this.stopped) break;
        if (refetch) await this.loadTree();
      } catch (err) {
        if (this.stopped) break;
        this.handlers.onLive(false);
        this.handlers.onError(err);
        if (err instanceof AuthRequiredError) return;
      }
      await this.sleep(this.idleMs);
    }
  }

  stop(): void {
    this.stopped = true;
    this.abort.abort();
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Read the tree now (after an action from the page). */
  async refresh(): Promise<void> {
    await this.loadTree();
  }

  private async loadTree(): Promise<void> {
    const r = await this.client.call<{ rootId: string; tasks: Task[] }>(
      "tasks.tree",
      { rootId: this.rootId, format: "flat" },
      this.abort.signal,
    );
    if (!this.stopped) this.handlers.onTree(r.tasks);
  }

  private async loadHistory(): Promise<void> {
    const all: TaskEvent[] = [];
    let after = 0;
    for (;;) {
      const page = await this.client.call<{ events: TaskEvent[]; lastSeq: number }>(
        "tasks.events",
        { rootId: this.rootId, afterSeq: after, limit: PAGE },
        this.abort.signal,
      );
      all.push(...page.events);
      if (all.length > this.historyLimit) all.splice(0, all.length - this.historyLimit);
      after = page.lastSeq;
      if (page.events.length < PAGE) break;
    }
    this.lastSeq = after;
    if (all.length > 0 && !this.stopped) this.handlers.onEvents(all, true);
  }

  /** One stream: true when what it carried means the tree should be read again. */
  private async followOnce(): Promise<boolean> {
    let refetch = false;
    let live = false;
    const last = await this.client.stream(
      "tasks.events",
      { rootId: this.rootId, afterSeq: this.lastSeq },
      {
        signal: this.abort.signal,
        lastEventId: this.lastSeq,
        onHead: (head) => {
          live = typeof head.executionId === "string";
          this.handlers.onLive(live);
        },
        onEvent: (e) => {
          if (e.seq <= this.lastSeq) return;
          this.lastSeq = e.seq;
          if (e.type === "tree.started" || e.type === "tree.finished" || e.type === "task.created") refetch = true;
          this.queue(e);
        },
      },
    );
    if (last !== undefined && last > this.lastSeq) this.lastSeq = last;
    this.flush();
    if (live) this.handlers.onLive(false);
    return refetch;
  }

  private queue(e: TaskEvent): void {
    this.pending.push(e);
    this.timer ??= setTimeout(() => this.flush(), this.flushMs);
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending.length === 0 || this.stopped) return;
    const events = this.pending;
    this.pending = [];
    this.handlers.onEvents(events, false);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopped) return resolve();
      const t = setTimeout(resolve, ms);
      this.abort.signal.addEventListener(
        "abort",
        () => {
          clearTimeout(t);
          resolve();
        },
        { once: true },
      );
    });
  }
}
