import { hostname } from "node:os";
import { ApflowError, EngineStoppedError, ErrorCode, NotFoundError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import { Registry } from "../registry/registry.js";
import type { CancelResult, StartExecutionRequest, SubmitStart, TaskStore } from "../store/types.js";
import { limitsOf } from "../limits/types.js";
import { nextRefillAt } from "../limits/why.js";
import { copyTask, type CopyOptions } from "../tree/copy.js";
import { validateTasks } from "../tree/validate.js";
import type { Execution, JsonValue, NewTask, Task, TaskEvent, TaskInput, TreeOutcome } from "../types.js";
import { flatten } from "../util/flatten.js";
import { newId } from "../util/ids.js";
import { type EventBus, LocalEventBus } from "./event-bus.js";
import { type SubscribeQuery, subscribeEvents } from "./subscription.js";
import { runTreeHooks } from "./hooks.js";
import { Finisher } from "./finisher.js";
import { registerBuiltins } from "../executors/builtins.js";
import { ClaimLoop } from "./claim-loop.js";
import { LeaseKeeper } from "./lease-renewal.js";
import { KeepAlive } from "./keep-alive.js";
import { WakeTimer } from "./wake-timer.js";
import { type CreateOutcome, copyOnce, createOnce, executeOnce, type GuardedCalls } from "../idempotency/calls.js";
import { deriveIdempotencyKey } from "../idempotency/fingerprint.js";
import { IdempotencyGuard, type IdempotencyOptions } from "../idempotency/guard.js";
import { Placer, placementTaskOf } from "../placement/placer.js";
import type { PlacementOptions } from "../placement/types.js";

export interface EngineOptions {
  store: TaskStore;
  /** Executors and hooks; a new registry with the built-in executors when omitted. */
  registry?: Registry;
  /** Tasks this engine runs at once (default 10). */
  concurrency?: number;
  /** How long a claim stays valid without renewal (default 30 s). Renewed every third of it. */
  leaseMs?: number;
  /**
   * Re-check the store for other nodes' work and expired leases (default 1 s). A due `runAt` or
   * retry backoff wakes the engine at its time (the store's `nextDueAt`), not at the next poll.
   */
  pollIntervalMs?: number;
  /** How long a cancelled executor may take to return its partial result (default 5 s). */
  cancelGraceMs?: number;
  /**
   * Attempts a task without a retry policy gets when its runs keep losing their lease (its node
   * died or stalled) before it fails with `LEASE_EXPIRED` (default 5).
   */
  maxLeaseAttempts?: number;
  /** This engine's identity in leases (default host:pid:random). */
  owner?: string;
  logger?: Logger;
  bus?: EventBus;
  /** Run every execution in demo mode. */
  demo?: boolean;
  /** The clock used for leases and `runAt` (tests may pass a fake one). */
  clock?: () => Date;
  /** Idempotency keys and unique trees (needs `store.idempotency`): retention (24 h), waits. */
  idempotency?: IdempotencyOptions;
  /**
   * Whether this engine claims and runs tasks (default true). `false` makes a producer: it
   * creates, submits, executes (queues), cancels and waits, and other engines on the same store
   * (worker nodes) run the tasks; `start()` then claims nothing.
   */
  claim?: boolean;
  /**
   * Claim only tasks whose executor id is listed (and grouping tasks): a node that has some
   * executors only never takes a task it cannot run (`ClaimOptions.executors`). Default: any.
   */
  claimExecutors?: string[];
  /**
   * The node's tags: only tasks whose `placement.requires` it holds every tag of are claimed
   * (`ClaimOptions.tags`; docs/architecture.md#placement). Default: none (tasks that require none).
   */
  claimTags?: string[];
  /**
   * Where the executions this engine starts place their tasks (docs/architecture.md#strategies-and-granularity):
   * strategy `capability` (default: no preference, no registry read), `round-robin`,
   * `least-loaded`, `affinity` or a function; granularity `task` (default), `subtree` or `root`.
   */
  placement?: PlacementOptions;
}

/** A tree stored and queued by `submit`, with its execution. */
export interface SubmittedTree {
  tasks: Task[];
  execution: Execution;
}

/** An idempotency key on a call that creates or starts work: a repeat returns the first call's answer. */
export interface IdempotencyKeyOptions {
  /** 1..200 characters, per `keyOwner`; remembered for the retention (default 24 h). */
  idempotencyKey?: string;
  /** Whose key space the key is in (default `userId`): the caller, when an admin acts for another user. */
  keyOwner?: string | null;
}

export interface CreateOptions extends IdempotencyKeyOptions {
  userId?: string | null;
  /** Accept tasks that arrive finished (copies made with mode `full` or kept dependencies). */
  allowFinishedTasks?: boolean;
}

export interface ExecuteOptions extends IdempotencyKeyOptions {
  rerun?: "failed" | "all";
  demo?: boolean;
  userId?: string | null;
  /** Per-request secrets handed to executors as `ctx.secrets`; never persisted. */
  secrets?: Record<string, string>;
  /** This execution's placement, field by field over the engine's (`EngineOptions.placement`). */
  placement?: PlacementOptions;
}

export interface ExecutionHandle {
  execution: Execution;
  /** Resolves when the execution finished, whatever its outcome. */
  done: Promise<TreeOutcome>;
  /** The execution's events from its start, ending after `tree.finished`. */
  events(options?: { afterSeq?: number; signal?: AbortSignal }): AsyncGenerator<TaskEvent>;
  /** True when this is a repeat (same idempotency key) answered with the first call's execution. */
  replayed?: boolean;
}

/**
 * The engine (docs/semantics.md#execution), its public face: create, execute, cancel, copy, subscribe and wait. It
 * runs a claim loop over a `TaskStore` (claim-loop.ts: ready tasks by priority then FIFO, with a
 * lease, through their executors with limited concurrency, each outcome written back with the
 * lease token and the store's events published) and keeps its leases (lease-renewal.ts: renewal
 * and reclaim). Single-node and multi-node execution share this code path.
 */
export class Engine {
  readonly store: TaskStore;
  readonly registry: Registry;
  readonly bus: EventBus;
  readonly owner: string;
  readonly logger: Logger;
  readonly concurrency: number;
  readonly leaseMs: number;
  readonly pollIntervalMs: number;
  readonly cancelGraceMs: number;
  readonly maxLeaseAttempts: number;
  readonly demo: boolean;
  readonly clock: () => Date;
  /** Idempotency keys and unique trees; null when the store has no idempotency facet. */
  readonly idempotency: IdempotencyGuard | null;
  /** Whether this engine claims tasks (`EngineOptions.claim`). */
  readonly claims: boolean;

  private readonly secrets = new Map<string, Record<string, string>>();
  private readonly waiters = new Map<string, Array<(e: Execution) => void>>();
  /** Ends every `wait()` still polling, when the engine stops. */
  private readonly waiting = new Set<() => void>();
  private state: "idle" | "running" | "stopping" | "stopped" = "idle";
  private readonly refusedListeners = new Set<(taskId: string) => void>();
  /** Claiming paused (`pauseClaiming()`): running tasks go on, leases are renewed, nothing new is claimed. */
  private claimPaused = false;
  private timers: NodeJS.Timeout[] = [];
  private readonly loop: ClaimLoop;
  private readonly leases: LeaseKeeper;
  private readonly wakeTimer: WakeTimer;
  private unsubscribeWake: (() => void) | undefined;
  /** Holds the process open while an execution is waited for (each one this engine started is). */
  private readonly keepAlive = new KeepAlive();
  /** Computes each execution's placement from the node registry (placement/placer.ts). */
  private readonly placer: Placer;

  constructor(options: EngineOptions) {
    this.store = options.store;
    this.registry = options.registry ?? registerBuiltins(new Registry());
    this.bus = options.bus ?? new LocalEventBus();
    this.owner = options.owner ?? `${hostname()}:${process.pid}:${newId().slice(0, 8)}`;
    this.logger = (options.logger ?? silentLogger).child({ component: "engine", owner: this.owner });
    this.concurrency = positive(options.concurrency ?? 10, "concurrency");
    this.leaseMs = positive(options.leaseMs ?? 30_000, "leaseMs");
    this.pollIntervalMs = positive(options.pollIntervalMs ?? 1000, "pollIntervalMs");
    this.cancelGraceMs = options.cancelGraceMs ?? 5000;
    this.maxLeaseAttempts = positive(options.maxLeaseAttempts ?? 5, "maxLeaseAttempts");
    this.demo = options.demo ?? false;
    this.clock = options.clock ?? (() => new Date());
    this.claims = options.claim ?? true;
    registerBuiltins(this.registry);
    this.placer = new Placer({
      store: this.store,
      clock: this.clock,
      logger: this.logger,
      ...(options.placement ? { placement: options.placement } : {}),
    });
    const facet = this.store.idempotency;
    this.idempotency = facet ? new IdempotencyGuard(facet, this.clock, this.logger, options.idempotency) : null;
    const finisher = new Finisher(
      this.store,
      this.bus,
      this.clock,
      this.logger,
      (e) => this.onFinished(e),
      (taskId) => {
        for (const listener of [...this.refusedListeners]) listener(taskId);
      },
    );
    this.loop = new ClaimLoop({
      store: this.store,
      registry: this.registry,
      bus: this.bus,
      logger: this.logger,
      clock: this.clock,
      owner: this.owner,
      concurrency: this.concurrency,
      ...(options.claimExecutors === undefined ? {} : { executors: [...options.claimExecutors] }),
      ...(options.claimTags === undefined ? {} : { tags: [...options.claimTags] }),
      leaseMs: this.leaseMs,
      demo: this.demo,
      cancelGraceMs: this.cancelGraceMs,
      finisher,
      claimAfterWrites: this.store.inProcess !== true,
      secretsFor: (executionId) => this.secrets.get(executionId),
      running: () => this.state === "running" && this.claims && !this.claimPaused,
      onShortClaim: () => this.wakeTimer.shortClaim(),
    });
    const store = this.store;
    this.wakeTimer = new WakeTimer({
      clock: this.clock,
      pollIntervalMs: this.pollIntervalMs,
      nextDue: nextDueOrRefill(store),
      wake: () => this.loop.pump(),
      logger: this.logger,
    });
    this.leases = new LeaseKeeper({
      store: this.store,
      bus: this.bus,
      logger: this.logger,
      clock: this.clock,
      owner: this.owner,
      leaseMs: this.leaseMs,
      maxLeaseAttempts: this.maxLeaseAttempts,
      registry: this.registry,
      active: this.loop.active,
      onFinished: (e) => this.onFinished(e),
    });
  }

  get running(): boolean {
    return this.state === "running";
  }

  /**
   * Be told of each outcome the store refused because this engine's lease was lost (a late write
   * of a task handed back or reclaimed meanwhile). Returns the function that stops it.
   */
  onLateWriteRefused(listener: (taskId: string) => void): () => void {
    this.refusedListeners.add(listener);
    return () => this.refusedListeners.delete(listener);
  }

  /** Whether claiming is paused (`pauseClaiming()`). */
  get claimingPaused(): boolean {
    return this.claimPaused;
  }

  /** The node tags every claim passes (`EngineOptions.claimTags`); empty: tasks that require none. */
  get claimTags(): readonly string[] {
    return this.loop.tags;
  }

  /** Claim with these node tags from the next claim on (a distributed `Node` sets its own). */
  setClaimTags(tags: readonly string[]): void {
    this.loop.setTags(tags);
  }

  /**
   * Stop claiming new tasks and keep everything else going: running tasks finish and their
   * leases are renewed (a node draining, or the first step of a graceful shutdown).
   */
  pauseClaiming(): void {
    this.claimPaused = true;
  }

  /** Claim again after `pauseClaiming()`. */
  resumeClaiming(): void {
    if (!this.claimPaused) return;
    this.claimPaused = false;
    this.loop.pump();
  }

  /**
   * Return tasks whose lease expired to the queue now (instead of at the next poll), then claim:
   * a coordinator calls it after handing back a dead node's leases.
   */
  async reclaimExpired(): Promise<void> {
    await this.leases.reclaim();
    if (this.state === "running") this.loop.pump();
  }

  /**
   * Abort every running executor as if its lease were lost (nothing of theirs is written): a node
   * cut off from the store past the point where its tasks are handed back elsewhere
   * (`deadAfterMs`) stops them before they can run twice. Returns how many were aborted.
   */
  abandonRunning(): number {
    const runs = [...this.loop.active.values()];
    for (const run of runs) run.abort("lease_lost");
    return runs.length;
  }

  /**
   * Claim now: another node (or a wake-up transport) says work may have become claimable.
   * Coalesced with a claim in flight (one more round at most); a no-op unless running and claiming.
   */
  wake(): void {
    this.loop.pump();
  }

  /** Tasks this engine is executing right now. */
  get activeCount(): number {
    return this.loop.active.size;
  }

  /**
   * Start claiming. Expired leases (a crashed process's tasks) are reclaimed first. An engine
   * that does not claim (`claim: false`) only becomes running (able to submit and execute).
   */
  async start(): Promise<void> {
    if (this.state === "running") return;
    if (this.state === "stopping") await this.loop.idle;
    this.state = "running";
    if (!this.claims) return;
    await this.leases.reclaim();
    this.timers = [
      setInterval(() => void this.leases.renew(), this.leases.renewEveryMs),
      setInterval(() => {
        void this.leases.reclaim();
        void this.expireWaits();
        this.wakeTimer.invalidate();
        this.loop.pump();
      }, this.pollIntervalMs),
    ];
    for (const t of this.timers) t.unref();
    this.wakeTimer.start();
    // Retries (this node's, or any node's on a shared bus) wake the engine at their `retryAt`; a
    // started execution may have queued tasks with a `runAt`, which the next short claim reads.
    this.unsubscribeWake = this.bus.subscribe((e) => {
      if (e.type === "task.retrying" && e.retryAt !== undefined) this.wakeTimer.at(Date.parse(e.retryAt));
      else if (e.type === "tree.started") this.wakeTimer.invalidate();
    });
    this.loop.pump();
  }

  /** Whether this engine holds the process open (an execution it started, or one waited for, is unfinished). */
  get holdsProcess(): boolean {
    return this.keepAlive.held;
  }

  /**
   * Stop claiming; let running tasks finish within `graceMs` (default the cancel grace), then
   * abort the rest and hand them back to the queue for another run.
   */
  async stop(options: { graceMs?: number } = {}): Promise<void> {
    if (this.state === "idle" || this.state === "stopped") {
      this.state = "stopped";
      return;
    }
    this.state = "stopping";
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    this.wakeTimer.stop();
    this.unsubscribeWake?.();
    this.unsubscribeWake = undefined;
    // A claim in flight either launched its tasks (waited for below) or handed them back.
    await this.loop.idle;
    const active = this.loop.active;
    const graceMs = options.graceMs ?? this.cancelGraceMs;
    const settled = Promise.allSettled([...active.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
    if (timedOut) {
      for (const run of active.values()) run.abort("shutdown");
      await Promise.allSettled([...active.values()].map((r) => r.done));
    }
    this.state = "stopped";
    for (const stopWaiting of [...this.waiting]) stopWaiting();
  }

  /** Validate and store one tree atomically (docs/semantics.md#creating-trees). */
  async createTree(tasks: TaskInput[] | unknown, options: CreateOptions = {}): Promise<Task[]> {
    const [tree] = await this.createTrees(tasks, options, "single");
    return tree as Task[];
  }

  /** Validate and store several independent trees in one atomic write. */
  async createTrees(
    tasks: TaskInput[] | unknown,
    options: CreateOptions = {},
    mode: "single" | "many" = "many",
  ): Promise<Task[][]> {
    return (await this.create(tasks, options, mode)).trees;
  }

  /**
   * `createTrees` with the whole outcome: with `idempotencyKey`, a repeat returns the first
   * request's trees (`replayed`); a root with `uniqueKey` held by an unfinished tree (or one
   * within its period) is not created, the holder is returned (`existing`).
   */
  async create(
    tasks: TaskInput[] | unknown,
    options: CreateOptions = {},
    mode: "single" | "many" = "many",
  ): Promise<CreateOutcome> {
    return createOnce(this.guarded(options, mode), tasks, options, mode);
  }

  private guarded(options: CreateOptions, mode: "single" | "many"): GuardedCalls {
    return {
      store: this.store,
      guard: this.idempotency,
      clock: this.clock,
      validate: (tasks) =>
        validateTasks(tasks, {
          registry: this.registry,
          userId: options.userId ?? null,
          now: this.clock(),
          trees: mode,
          allowFinishedTasks: options.allowFinishedTasks ?? false,
        }),
      save: (trees) => this.saveTrees(trees),
      wait: (id) => this.wait(id),
      subscribe: (query) => this.subscribe(query),
    };
  }

  private async saveTrees(trees: NewTask[][]): Promise<Task[][]> {
    const { tasks: created, events } = await this.store.createTasks(flatten(trees), this.clock());
    this.bus.publish(events);
    const byRoot = new Map<string, Task[]>();
    // Tasks of one tree come together: the last tree's list is kept at hand.
    let lastRoot: string | null = null;
    let list: Task[] = [];
    for (let i = 0; i < created.length; i++) {
      const t = created[i] as Task;
      if (t.rootId !== lastRoot) {
        lastRoot = t.rootId;
        const known = byRoot.get(t.rootId);
        if (known) list = known;
        else byRoot.set(t.rootId, (list = []));
      }
      list.push(t);
    }
    const result = [...byRoot.values()];
    for (const tree of result) {
      await runTreeHooks(
        this.registry,
        "onTreeCreated",
        { rootId: (tree[0] as Task).rootId, tasks: tree },
        this.logger,
      );
    }
    return result;
  }

  /**
   * Validate, store and queue several independent trees in one atomic write (one transaction on
   * the SQL stores): each gets an execution of its root, and any engine claiming on the store
   * runs them. It does not start claiming here: a producer (`claim: false`) submits, workers run.
   * `done` of `wait(execution.id)` resolves when a tree finished, on whichever node ran it.
   */
  async submit(
    tasks: TaskInput[] | unknown,
    options: CreateOptions & Omit<ExecuteOptions, "rerun"> = {},
  ): Promise<SubmittedTree[]> {
    if (this.state === "stopping" || this.state === "stopped") throw new EngineStoppedError();
    const trees = validateTasks(tasks, {
      registry: this.registry,
      userId: options.userId ?? null,
      now: this.clock(),
      trees: "many",
      allowFinishedTasks: options.allowFinishedTasks ?? false,
    });
    const demo = options.demo ?? this.demo;
    const starts: SubmitStart[] = trees.map((tree) => {
      const start: SubmitStart = { rootId: (tree[0] as NewTask).rootId, executionId: newId(), demo };
      if (options.userId !== undefined) start.userId = options.userId;
      return start;
    });
    if (this.placer.places(options.placement)) {
      for (const [i, tree] of trees.entries()) {
        const placement = await this.placer.place(() => Promise.resolve(tree.map(placementTaskOf)), options.placement);
        if (placement) (starts[i] as SubmitStart).placement = placement;
      }
    }
    if (options.secrets) for (const s of starts) this.secrets.set(s.executionId, { ...options.secrets });
    let created: Task[];
    let executions: Execution[];
    try {
      if (this.store.submitTrees) {
        const r = await this.store.submitTrees(flatten(trees), starts, this.clock());
        this.bus.publish(r.events);
        created = r.tasks;
        executions = r.executions;
      } else {
        const r = await this.store.createTasks(flatten(trees), this.clock());
        this.bus.publish(r.events);
        created = r.tasks;
        executions = [];
        for (const s of starts) {
          const request: StartExecutionRequest = {
            taskId: s.rootId,
            rerun: "failed",
            demo,
            executionId: s.executionId,
            now: this.clock(),
          };
          if (s.userId !== undefined) request.userId = s.userId;
          if (s.placement !== undefined) request.placement = s.placement;
          const started = await this.store.startExecution(request);
          this.bus.publish(started.events);
          executions.push(started.execution);
        }
      }
    } catch (err) {
      for (const s of starts) this.secrets.delete(s.executionId);
      throw err;
    }
    const byRoot = new Map<string, Task[]>();
    for (const t of created) {
      let list = byRoot.get(t.rootId);
      if (!list) byRoot.set(t.rootId, (list = []));
      list.push(t);
    }
    const out: SubmittedTree[] = executions.map((execution) => ({
      tasks: byRoot.get(execution.rootId) ?? [],
      execution,
    }));
    const hooked = this.registry.getHooks("onTreeCreated").length + this.registry.getHooks("onTreeStarted").length > 0;
    for (const { tasks: tree, execution } of hooked ? out : []) {
      await runTreeHooks(this.registry, "onTreeCreated", { rootId: execution.rootId, tasks: tree }, this.logger);
      await runTreeHooks(
        this.registry,
        "onTreeStarted",
        { rootId: execution.rootId, executionId: execution.id },
        this.logger,
      );
    }
    const finished = executions.filter((e) => e.status !== "running");
    if (finished.length > 0) await this.onFinished(finished);
    if (this.state === "running") this.loop.pump();
    return out;
  }

  /** Run a tree, or one task inside it with what it needs (docs/semantics.md#re-execution). */
  async execute(taskId: string, options: ExecuteOptions = {}): Promise<ExecutionHandle> {
    if (this.state === "stopping" || this.state === "stopped") {
      throw new EngineStoppedError();
    }
    if (options.idempotencyKey === undefined) return this.startExecution(taskId, options);
    return executeOnce(this.guarded({}, "single"), taskId, options, () => this.startExecution(taskId, options));
  }

  private async startExecution(taskId: string, options: ExecuteOptions): Promise<ExecutionHandle> {
    const request: StartExecutionRequest = {
      taskId,
      rerun: options.rerun ?? "failed",
      demo: options.demo ?? this.demo,
      executionId: newId(),
      now: this.clock(),
    };
    if (options.userId !== undefined) request.userId = options.userId;
    if (this.placer.places(options.placement)) {
      const placement = await this.placer.placeTask(taskId, options.placement);
      if (placement) request.placement = placement;
    }
    if (options.secrets) this.secrets.set(request.executionId as string, { ...options.secrets });
    let started: Awaited<ReturnType<TaskStore["startExecution"]>>;
    try {
      started = await this.store.startExecution(request);
    } catch (err) {
      this.secrets.delete(request.executionId as string);
      throw err;
    }
    const { execution } = started;
    const firstSeq = (started.events[0]?.seq ?? 1) - 1;
    const done = this.wait(execution.id);
    // `done` rejects if the engine stops first; a caller who never awaits it must not crash.
    done.catch(() => {});
    this.bus.publish(started.events);
    await runTreeHooks(
      this.registry,
      "onTreeStarted",
      { rootId: execution.rootId, executionId: execution.id },
      this.logger,
    );
    if (execution.status !== "running") await this.onFinished([execution]);
    // A producer (`claim: false`) only queues: whichever engine claims on the store runs it.
    if (this.state === "idle" && this.claims) await this.start();
    else this.loop.pump();
    return {
      execution,
      done,
      events: (opts = {}) =>
        this.subscribe({
          executionId: execution.id,
          rootId: execution.rootId,
          afterSeq: opts.afterSeq ?? firstSeq,
          ...(opts.signal ? { signal: opts.signal } : {}),
        }),
    };
  }

  /** Create a tree, run it and wait for the outcome. */
  async runTree(tasks: TaskInput[] | unknown, options: CreateOptions & ExecuteOptions = {}): Promise<TreeOutcome> {
    const tree = await this.createTree(tasks, options);
    const key = options.idempotencyKey;
    const handle = await this.execute((tree[0] as Task).id, {
      ...options,
      ...(key !== undefined ? { idempotencyKey: deriveIdempotencyKey(key, "execute") } : {}),
    });
    return handle.done;
  }

  /** Cancel a task, or a whole tree through its root (docs/semantics.md#failure-cancellation-and-completion). Idempotent. */
  async cancel(taskId: string, reason?: string): Promise<CancelResult> {
    const result = await this.store.cancel(taskId, { now: this.clock(), ...(reason ? { reason } : {}) });
    this.bus.publish(result.events);
    for (const { taskId: id } of result.running) this.loop.active.get(id)?.abort("cancel");
    await this.onFinished(result.finished);
    return result;
  }

  /**
   * Answer a waiting task (docs/semantics.md#waiting). The first answer that completes the wait
   * wins; a later one is refused with -32006. Validation and permission checks are the caller's
   * (TaskService); `by` is who answered. Returns the task as written and whether it runs again.
   */
  async resume(
    taskId: string,
    input: JsonValue,
    options: { by?: string | null } = {},
  ): Promise<{ task: Task; resumed: boolean }> {
    const { task, resumed, events } = await this.store.resumeTask(
      taskId,
      { by: options.by ?? null, at: this.clock().toISOString(), input },
      this.clock(),
    );
    this.bus.publish(events);
    if (resumed && this.state === "running") this.loop.pump();
    return { task, resumed };
  }

  /**
   * Answer every task waiting for `event` (with the same `key`; none: waits without a key) with
   * `payload`. `accept` filters candidates (the caller's access and schema checks); a task
   * answered by someone else meanwhile is skipped. Returns the tasks answered.
   */
  async signal(
    event: string,
    key: string | null | undefined,
    payload: JsonValue,
    options: { by?: string | null; userId?: string | null; accept?: (task: Task) => boolean } = {},
  ): Promise<Task[]> {
    const candidates = await this.store.findWaiting({
      event,
      key: key ?? null,
      ...(options.userId !== undefined ? { userId: options.userId } : {}),
    });
    const answered: Task[] = [];
    for (const candidate of candidates) {
      if (options.accept && !options.accept(candidate)) continue;
      try {
        answered.push((await this.resume(candidate.id, payload, { by: options.by ?? null })).task);
      } catch (err) {
        if ((err as { code?: unknown }).code === ErrorCode.InvalidTransition) continue;
        throw err;
      }
    }
    return answered;
  }

  /** Apply `onTimeout` to waits whose deadline passed (every engine's poll runs it; the store makes it once). */
  async expireWaits(): Promise<Task[]> {
    try {
      const result = await this.store.expireWaits(this.clock());
      this.bus.publish(result.events);
      if (result.tasks.length > 0) this.loop.pump();
      await this.onFinished(result.finished);
      return result.tasks;
    } catch (err) {
      this.logger.error({ err }, "wait expiry failed");
      return [];
    }
  }

  /** Build (and by default store) a copy for re-running part of a tree (docs/semantics.md#copy). */
  async copy(taskId: string, options: CopyOptions & IdempotencyKeyOptions = {}): Promise<Task[] | TaskInput[]> {
    if (options.idempotencyKey === undefined || options.save === false) return this.copyNow(taskId, options);
    return copyOnce(this.guarded({}, "single"), taskId, { ...options }, async () => {
      return (await this.copyNow(taskId, options)) as Task[];
    });
  }

  private async copyNow(taskId: string, options: CopyOptions): Promise<Task[] | TaskInput[]> {
    const tasks = await copyTask(this.store, taskId, options);
    if (options.save === false) return tasks;
    return this.createTree(tasks, {
      allowFinishedTasks: true,
      ...(options.userId !== undefined ? { userId: options.userId } : {}),
    });
  }

  /** Events after `afterSeq`, then live ones; ends after the final event (docs/semantics.md#hooks-and-events). */
  subscribe(query: SubscribeQuery): AsyncGenerator<TaskEvent> {
    return subscribeEvents(this.store, this.bus, query);
  }

  /** Wait until an execution finished (also one finished by another node); holds the process open meanwhile. */
  async wait(executionId: string): Promise<TreeOutcome> {
    const finished = await new Promise<Execution>((resolve, reject) => {
      let settled = false;
      const end = (): boolean => {
        if (settled) return false;
        settled = true;
        clearInterval(timer);
        release();
        unsubscribe();
        this.waiting.delete(stopWaiting);
        const list = this.waiters.get(executionId);
        if (list) {
          const i = list.indexOf(finish);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.waiters.delete(executionId);
        }
        return true;
      };
      const finish = (e: Execution): void => {
        if (end()) resolve(e);
      };
      const stopWaiting = (): void => {
        if (end()) reject(new EngineStoppedError());
      };
      const check = (): void => {
        this.store.getExecution(executionId).then(
          (e) => {
            if (!e) {
              if (end()) reject(new NotFoundError("execution", executionId));
            } else if (e.status !== "running") finish(e);
          },
          (err: unknown) => this.logger.warn({ err, executionId }, "cannot read execution"),
        );
      };
      // Until the execution finished (or the engine stopped), the process stays up for it.
      const release = this.keepAlive.hold();
      let list = this.waiters.get(executionId);
      if (!list) this.waiters.set(executionId, (list = []));
      list.push(finish);
      this.waiting.add(stopWaiting);
      const unsubscribe = this.bus.subscribe((e) => {
        if (e.type === "tree.finished" && e.executionId === executionId) check();
      });
      const timer = setInterval(check, this.pollIntervalMs);
      timer.unref();
      if (this.state === "stopped") stopWaiting();
      else check();
    });
    return {
      executionId,
      rootId: finished.rootId,
      status: finished.status as TreeOutcome["status"],
      tasks: await this.store.getTree(finished.rootId),
    };
  }

  private async onFinished(executions: Execution[]): Promise<void> {
    for (const execution of executions) {
      this.secrets.delete(execution.id);
      for (const finish of [...(this.waiters.get(execution.id) ?? [])]) finish(execution);
      const hook = execution.status === "completed" ? "onTreeCompleted" : "onTreeFailed";
      await runTreeHooks(
        this.registry,
        hook,
        { rootId: execution.rootId, executionId: execution.id, status: execution.status },
        this.logger,
      );
    }
  }
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ApflowError(ErrorCode.InvalidParams, `${name} must be a positive number, got ${value}`);
  }
  return value;
}

/**
 * The wake timer's next time: the store's next due `runAt` / backoff, or the next refill of an
 * empty start-rate bucket (`nextRefillAt`) if sooner, so a task held back only by a bucket is
 * claimed when a token is back, not at the next poll. A bucket that holds back no task costs at
 * most one claim that finds nothing per refill (buckets empty only when tasks start).
 */
function nextDueOrRefill(store: TaskStore): ((now: Date) => Promise<Date | null>) | null {
  const due = store.nextDueAt ? (now: Date) => store.nextDueAt?.({ now }) ?? Promise.resolve(null) : null;
  if (!limitsOf(store)) return due;
  return async (now) => {
    const [a, b] = await Promise.all([due ? due(now) : null, nextRefillAt(store, now)]);
    if (a === null || b === null) return a ?? b;
    return a.getTime() <= b.getTime() ? a : b;
  };
}
