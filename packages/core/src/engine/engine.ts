import { hostname } from "node:os";
import { ApflowError, EngineStoppedError, ErrorCode, NotFoundError } from "../errors.js";
import { type Logger, silentLogger } from "../logger.js";
import { Registry } from "../registry/registry.js";
import type { CancelResult, ClaimedTask, StartExecutionRequest, TaskStore } from "../store/types.js";
import { copyTask, type CopyOptions } from "../tree/copy.js";
import { validateTasks } from "../tree/validate.js";
import type { Execution, Task, TaskEvent, TaskInput, TreeOutcome } from "../types.js";
import { newId } from "../util/ids.js";
import { type EventBus, LocalEventBus } from "./event-bus.js";
import { runClaimedTask, type RunningTask } from "./run-task.js";
import { type SubscribeQuery, subscribeEvents } from "./subscription.js";
import { runTreeHooks } from "./hooks.js";
import { Finisher } from "./finisher.js";
import { registerBuiltins } from "../executors/builtins.js";
import { handBackOutcome } from "../store/rules.js";

export interface EngineOptions {
  store: TaskStore;
  /** Executors and hooks; a new registry with the built-in executors when omitted. */
  registry?: Registry;
  /** Tasks this engine runs at once (default 10). */
  concurrency?: number;
  /** How long a claim stays valid without renewal (default 30 s). Renewed every third of it. */
  leaseMs?: number;
  /** Re-check the store for due `runAt`s, other nodes' work and expired leases (default 1 s). */
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
}

export interface CreateOptions {
  userId?: string | null;
  /** Accept tasks that arrive finished (copies made with mode `full` or kept dependencies). */
  allowFinishedTasks?: boolean;
}

export interface ExecuteOptions {
  rerun?: "failed" | "all";
  demo?: boolean;
  userId?: string | null;
  /** Per-request secrets handed to executors as `ctx.secrets`; never persisted. */
  secrets?: Record<string, string>;
}

export interface ExecutionHandle {
  execution: Execution;
  /** Resolves when the execution finished, whatever its outcome. */
  done: Promise<TreeOutcome>;
  /** The execution's events from its start, ending after `tree.finished`. */
  events(options?: { afterSeq?: number; signal?: AbortSignal }): AsyncGenerator<TaskEvent>;
}

/**
 * The engine (SPEC §5): a claim loop over a `TaskStore`. It claims ready tasks (priority, then
 * FIFO) with a lease, runs them through their executors with limited concurrency, writes each
 * outcome back with the lease token, and publishes the events the store appended. Single-node
 * and multi-node execution share this code path.
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

  private readonly active = new Map<string, RunningTask>();
  private readonly secrets = new Map<string, Record<string, string>>();
  private readonly waiters = new Map<string, Array<(e: Execution) => void>>();
  /** Ends every `wait()` still polling, when the engine stops. */
  private readonly waiting = new Set<() => void>();
  private state: "idle" | "running" | "stopping" | "stopped" = "idle";
  private pumping = false;
  private pumpAgain = false;
  private timers: NodeJS.Timeout[] = [];
  private idle: Promise<void> = Promise.resolve();
  private readonly finisher: Finisher;

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
    if (!this.registry.hasExecutor("aggregate_results")) registerBuiltins(this.registry);
    this.finisher = new Finisher(this.store, this.bus, this.clock, this.logger, (e) => this.onFinished(e));
  }

  get running(): boolean {
    return this.state === "running";
  }

  /** Tasks this engine is executing right now. */
  get activeCount(): number {
    return this.active.size;
  }

  /** Start claiming. Expired leases (a crashed process's tasks) are reclaimed first. */
  async start(): Promise<void> {
    if (this.state === "running") return;
    if (this.state === "stopping") await this.idle;
    this.state = "running";
    await this.reclaim();
    const renewEvery = Math.max(50, Math.floor(this.leaseMs / 3));
    this.timers = [
      setInterval(() => void this.renewLeases(), renewEvery),
      setInterval(() => {
        void this.reclaim();
        this.pump();
      }, this.pollIntervalMs),
    ];
    for (const t of this.timers) t.unref();
    this.pump();
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
    // A claim in flight either launched its tasks (waited for below) or handed them back.
    await this.idle;
    const graceMs = options.graceMs ?? this.cancelGraceMs;
    const settled = Promise.allSettled([...this.active.values()].map((r) => r.done));
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      settled.then(() => false),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(true), graceMs);
      }),
    ]);
    if (timer) clearTimeout(timer);
    if (timedOut) {
      for (const run of this.active.values()) run.abort("shutdown");
      await Promise.allSettled([...this.active.values()].map((r) => r.done));
    }
    this.state = "stopped";
    for (const stopWaiting of [...this.waiting]) stopWaiting();
  }

  /** Validate and store one tree atomically (SPEC §4). */
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
    const trees = validateTasks(tasks, {
      registry: this.registry,
      userId: options.userId ?? null,
      now: this.clock(),
      trees: mode,
      allowFinishedTasks: options.allowFinishedTasks ?? false,
    });
    const { tasks: created, events } = await this.store.createTasks(trees.flat(), this.clock());
    this.bus.publish(events);
    const byRoot = new Map<string, Task[]>();
    for (const t of created) {
      let list = byRoot.get(t.rootId);
      if (!list) byRoot.set(t.rootId, (list = []));
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

  /** Run a tree, or one task inside it with what it needs (SPEC §5.4). */
  async execute(taskId: string, options: ExecuteOptions = {}): Promise<ExecutionHandle> {
    if (this.state === "stopping" || this.state === "stopped") {
      throw new EngineStoppedError();
    }
    const request: StartExecutionRequest = {
      taskId,
      rerun: options.rerun ?? "failed",
      demo: options.demo ?? this.demo,
      executionId: newId(),
      now: this.clock(),
    };
    if (options.userId !== undefined) request.userId = options.userId;
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
    if (this.state === "idle") await this.start();
    else this.pump();
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
    const handle = await this.execute((tree[0] as Task).id, options);
    return handle.done;
  }

  /** Cancel a task, or a whole tree through its root (SPEC §5.2). Idempotent. */
  async cancel(taskId: string, reason?: string): Promise<CancelResult> {
    const result = await this.store.cancel(taskId, { now: this.clock(), ...(reason ? { reason } : {}) });
    this.bus.publish(result.events);
    for (const { taskId: id } of result.running) this.active.get(id)?.abort("cancel");
    await this.onFinished(result.finished);
    return result;
  }

  /** Build (and by default store) a copy for re-running part of a tree (SPEC §4.1). */
  async copy(taskId: string, options: CopyOptions = {}): Promise<Task[] | TaskInput[]> {
    const tasks = await copyTask(this.store, taskId, options);
    if (options.save === false) return tasks;
    return this.createTree(tasks, {
      allowFinishedTasks: true,
      ...(options.userId !== undefined ? { userId: options.userId } : {}),
    });
  }

  /** Events after `afterSeq`, then live ones; ends after the final event (SPEC §5.5). */
  subscribe(query: SubscribeQuery): AsyncGenerator<TaskEvent> {
    return subscribeEvents(this.store, this.bus, query);
  }

  /** Wait until an execution finished (also one finished by another node). */
  async wait(executionId: string): Promise<TreeOutcome> {
    const finished = await new Promise<Execution>((resolve, reject) => {
      let settled = false;
      const end = (): boolean => {
        if (settled) return false;
        settled = true;
        clearInterval(timer);
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

  // ---- the claim loop ----------------------------------------------------------------------

  /** Claim while there are free slots; coalesces calls made while a claim is in flight. */
  private pump(): void {
    if (this.state !== "running") return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    this.idle = this.claimLoop().finally(() => {
      this.pumping = false;
    });
  }

  private async claimLoop(): Promise<void> {
    do {
      this.pumpAgain = false;
      while (this.state === "running" && this.active.size < this.concurrency) {
        const limit = this.concurrency - this.active.size;
        let claimed: ClaimedTask[];
        try {
          const result = await this.store.claimReady({
            owner: this.owner,
            limit,
            leaseMs: this.leaseMs,
            now: this.clock(),
          });
          this.bus.publish(result.events);
          claimed = result.claimed;
        } catch (err) {
          this.logger.error({ err }, "claim failed");
          return;
        }
        if (this.state !== "running") {
          await this.handBack(claimed);
          return;
        }
        for (const c of claimed) this.launch(c);
        if (claimed.length < limit) break;
      }
    } while (this.pumpAgain && this.state === "running");
  }

  private launch(claimed: ClaimedTask): void {
    const run = runClaimedTask(claimed, {
      store: this.store,
      registry: this.registry,
      bus: this.bus,
      logger: this.logger,
      clock: this.clock,
      demo: this.demo,
      cancelGraceMs: this.cancelGraceMs,
      secrets: this.secrets.get(claimed.executionId),
      finisher: this.finisher,
    });
    this.active.set(claimed.task.id, run);
    run.done.finally(() => {
      this.active.delete(claimed.task.id);
      this.pump();
    });
  }

  private async renewLeases(): Promise<void> {
    if (this.active.size === 0) return;
    const runs = [...this.active.values()];
    const leases = runs.map((r) => ({ taskId: r.taskId, leaseToken: r.leaseToken }));
    const asked = this.clock().getTime();
    try {
      const result = await this.store.renewLeases(this.owner, leases, this.leaseMs, new Date(asked));
      const lost = new Set(result.lost);
      for (const run of runs) if (!lost.has(run.taskId)) run.renewedAt = asked;
      for (const id of result.lost) this.active.get(id)?.abort("lease_lost");
      for (const id of result.cancelRequested) this.active.get(id)?.abort("cancel");
    } catch (err) {
      this.logger.error({ err }, "lease renewal failed");
      // Unable to renew: stop work before the lease can expire and another node takes it over
      // (SPEC §9). The margin leaves time for the abort to land before the lease ends.
      const deadline = asked - this.leaseMs + Math.max(50, Math.floor(this.leaseMs / 6));
      for (const run of runs) if (run.renewedAt <= deadline) run.abort("lease_lost");
    }
  }

  /** Return tasks claimed while stopping to the queue (their attempt is recorded as handed back). */
  private async handBack(claimed: ClaimedTask[]): Promise<void> {
    if (claimed.length === 0) return;
    const now = this.clock();
    try {
      for (const c of claimed) {
        const { events } = await this.store.finishTask(c.task.id, c.leaseToken, handBackOutcome(now), now);
        this.bus.publish(events);
      }
    } catch (err) {
      this.logger.error({ err }, "could not hand back claimed tasks; their leases will expire");
    }
  }

  private async reclaim(): Promise<void> {
    try {
      const result = await this.store.reclaimExpired(this.clock(), { maxAttempts: this.maxLeaseAttempts });
      if (result.tasks.length > 0) {
        this.logger.warn({ tasks: result.tasks.map((t) => t.id) }, "reclaimed tasks with expired leases");
      }
      this.bus.publish(result.events);
      const finished = result.events.filter((e) => e.type === "tree.finished" && e.executionId !== null);
      if (finished.length > 0) {
        const executions = await Promise.all(finished.map((e) => this.store.getExecution(e.executionId as string)));
        await this.onFinished(executions.filter((e): e is Execution => e !== null));
      }
    } catch (err) {
      this.logger.error({ err }, "reclaim failed");
    }
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
