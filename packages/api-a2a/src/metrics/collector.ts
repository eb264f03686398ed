import {
  type Engine,
  executorIdOf,
  type Fired,
  type QueueStats,
  queueStatsOf,
  TASK_STATUSES,
  TaskErrorCode,
  type Task,
  type TaskEvent,
  type TaskStatus,
  type TaskStore,
} from "@aipartnerupflow/core";
import { Counter, Gauge, Histogram, Registry } from "prom-client";

/**
 * Queue metrics (issue 11 item 6): counters and histograms fed by the engine's event bus, gauges
 * read from the store when scraped (`countByStatus` and the queue-stats facet: two bounded
 * aggregate reads). Served as Prometheus text by `GET /metrics` and as JSON by
 * `tasks.queue.stats`.
 *
 * Counters count the events this process's bus delivers (with the local bus: what this process's
 * engine did); with a bus that carries every node's events, scrape one node. Executor labels
 * come from the task (`params.executorId`, then `schemas.method`; "" for grouping tasks), read
 * once per task and cached. Wait time is ready → started (ready since the latest of the
 * execution's start, the task's `runAt`, its root's `runAt` — which holds back the tree — and its
 * dependencies' finish); run time is started → finished, for starts this process saw. Schedule
 * firings are counted as this process's schedulers report them (`scheduleFired`, their `onFire`).
 */
export const WAIT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];
export const RUN_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

/** Most tasks remembered between their start and their end (for run time and labels). */
const MAX_TRACKED = 100_000;

export interface EventCounts {
  claims: number;
  completions: number;
  failures: number;
  retries: number;
  cancellations: number;
  leaseExpirations: number;
}

export interface DurationSummary {
  executorId: string | null;
  count: number;
  sumMs: number;
}

export interface ScheduleFirings {
  scheduleId: string;
  count: number;
}

/** What `tasks.queue.stats` adds to its counts: the same figures as `/metrics`. */
export interface QueueMetricsSnapshot {
  queue: QueueStats | null;
  events: EventCounts;
  waitTime: DurationSummary[];
  runTime: DurationSummary[];
  /** Trees this process's schedulers fired (ticks and triggers), per schedule. */
  scheduleFirings: ScheduleFirings[];
}

interface Tracked {
  executor: string;
  startedAt: number | null;
}

export class QueueMetrics {
  readonly registry = new Registry();
  readonly #store: TaskStore;
  readonly #clock: () => Date;
  readonly #unsubscribe: () => void;
  readonly #tracked = new Map<string, Tracked>();
  readonly #executionStart = new Map<string, number>();
  #pending: TaskEvent[] = [];
  #draining: Promise<void> = Promise.resolve();
  readonly #counts: EventCounts = {
    claims: 0,
    completions: 0,
    failures: 0,
    retries: 0,
    cancellations: 0,
    leaseExpirations: 0,
  };
  readonly #wait = new Map<string, { count: number; sumMs: number }>();
  readonly #run = new Map<string, { count: number; sumMs: number }>();
  readonly #firingCounts = new Map<string, number>();

  readonly #claims: Counter<"executor">;
  readonly #completions: Counter<"executor">;
  readonly #failures: Counter<"executor">;
  readonly #retries: Counter<"executor">;
  readonly #cancellations: Counter<"executor">;
  readonly #leaseExpirations: Counter<"executor">;
  readonly #firings: Counter<"schedule">;
  readonly #waitSeconds: Histogram<"executor">;
  readonly #runSeconds: Histogram<"executor" | "outcome">;
  readonly #tasks: Gauge<"status">;
  readonly #ready: Gauge;
  readonly #delayed: Gauge;
  readonly #oldest: Gauge;
  readonly #readyByUser: Gauge<"user">;
  readonly #oldestByUser: Gauge<"user">;
  readonly #readyByExecutor: Gauge<"executor">;
  readonly #oldestByExecutor: Gauge<"executor">;
  readonly #limitBlocked: Gauge<"scope" | "key">;

  constructor(engine: Pick<Engine, "bus" | "clock">, store: TaskStore) {
    this.#store = store;
    this.#clock = engine.clock;
    const r = [this.registry];
    const counter = <L extends string>(name: string, help: string, labels: L[]) =>
      new Counter<L>({ name, help, labelNames: labels, registers: r });
    const gauge = <L extends string>(name: string, help: string, labels: L[] = []) =>
      new Gauge<L>({ name, help, labelNames: labels, registers: r });
    this.#claims = counter("apflow_task_claims_total", "Tasks claimed (started), per executor", ["executor"]);
    this.#completions = counter("apflow_task_completions_total", "Tasks completed, per executor", ["executor"]);
    this.#failures = counter(
      "apflow_task_failures_total",
      "Tasks failed for good (including dependency cascades), per executor",
      ["executor"],
    );
    this.#retries = counter("apflow_task_retries_total", "Failed attempts that will be retried, per executor", [
      "executor",
    ]);
    this.#cancellations = counter("apflow_task_cancellations_total", "Tasks cancelled, per executor", ["executor"]);
    this.#leaseExpirations = counter(
      "apflow_lease_expirations_total",
      "Leases that expired and were reclaimed (retried or failed with LEASE_EXPIRED), per executor",
      ["executor"],
    );
    this.#firings = counter(
      "apflow_schedule_firings_total",
      "Trees fired by schedules (their ticks and triggers in this process), per schedule id",
      ["schedule"],
    );
    this.#waitSeconds = new Histogram({
      name: "apflow_task_wait_seconds",
      help: "Time from ready (queued, dependencies resolved, due) to started, per executor",
      labelNames: ["executor"],
      buckets: WAIT_BUCKETS,
      registers: r,
    });
    this.#runSeconds = new Histogram({
      name: "apflow_task_run_seconds",
      help: "Time from started to finished (completed, failed or retried), per executor",
      labelNames: ["executor", "outcome"],
      buckets: RUN_BUCKETS,
      registers: r,
    });
    this.#tasks = gauge("apflow_tasks", "Tasks in the store by status", ["status"]);
    this.#ready = gauge("apflow_queue_ready_tasks", "Tasks ready to be claimed now");
    this.#delayed = gauge("apflow_queue_delayed_tasks", "Tasks queued but waiting for their runAt or retry backoff");
    this.#oldest = gauge("apflow_queue_oldest_ready_age_seconds", "Age of the oldest ready task (0 when none)");
    this.#readyByUser = gauge("apflow_queue_ready_tasks_by_user", 'Ready tasks per user ("": no user)', ["user"]);
    this.#oldestByUser = gauge("apflow_queue_oldest_ready_age_seconds_by_user", "Oldest ready age per user", ["user"]);
    this.#readyByExecutor = gauge("apflow_queue_ready_tasks_by_executor", "Ready tasks per executor", ["executor"]);
    this.#oldestByExecutor = gauge(
      "apflow_queue_oldest_ready_age_seconds_by_executor",
      "Oldest ready age per executor",
      ["executor"],
    );
    this.#limitBlocked = gauge(
      "apflow_queue_limit_blocked_tasks",
      'Ready tasks a limit rule keeps back now, per rule (scope, and its key; "": the default)',
      ["scope", "key"],
    );
    // Counters are per node: on a bus that also carries other nodes' events (a NodeEventBus),
    // only this node's own writes, or every node would count every node's work.
    const bus = engine.bus as typeof engine.bus & { subscribeLocal?: typeof engine.bus.subscribe };
    const onEvent = (event: TaskEvent): void => this.#onEvent(event);
    this.#unsubscribe = bus.subscribeLocal ? bus.subscribeLocal.call(bus, onEvent) : bus.subscribe(onEvent);
  }

  /** Count a tree a schedule fired (a `Scheduler`'s `onFire`). */
  scheduleFired(fired: Pick<Fired, "scheduleId">): void {
    this.#firings.inc({ schedule: fired.scheduleId });
    this.#remember(this.#firingCounts, fired.scheduleId, (this.#firingCounts.get(fired.scheduleId) ?? 0) + 1);
  }

  /** Stop listening to the bus. */
  close(): void {
    this.#unsubscribe();
  }

  /** Wait until every event delivered so far has been counted (its task looked up). */
  async flush(): Promise<void> {
    while (this.#pending.length > 0) await this.#drain();
    await this.#draining;
  }

  /** The Prometheus text exposition, gauges read from the store now. */
  async render(): Promise<string> {
    await this.refresh();
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Read the gauges' figures from the store (and wait for counted events). */
  async refresh(): Promise<{ counts: Record<TaskStatus, number>; queue: QueueStats | null }> {
    await this.flush();
    const now = this.#clock();
    const reader = queueStatsOf(this.#store);
    const [counts, queue] = await Promise.all([
      this.#store.countByStatus(),
      reader ? reader.queueStats({ now }) : Promise.resolve(null),
    ]);
    for (const status of TASK_STATUSES) this.#tasks.set({ status }, counts[status]);
    if (queue) {
      this.#ready.set(queue.ready);
      this.#delayed.set(queue.delayed);
      this.#oldest.set(queue.oldestReadyAgeMs / 1000);
      // Groups that emptied since the last scrape disappear instead of staying at their last value.
      this.#readyByUser.reset();
      this.#oldestByUser.reset();
      this.#readyByExecutor.reset();
      this.#oldestByExecutor.reset();
      for (const g of queue.byUser) {
        this.#readyByUser.set({ user: g.userId ?? "" }, g.ready);
        this.#oldestByUser.set({ user: g.userId ?? "" }, g.oldestReadyAgeMs / 1000);
      }
      for (const g of queue.byExecutor) {
        this.#readyByExecutor.set({ executor: g.executorId ?? "" }, g.ready);
        this.#oldestByExecutor.set({ executor: g.executorId ?? "" }, g.oldestReadyAgeMs / 1000);
      }
      this.#limitBlocked.reset();
      for (const g of queue.limitBlocked ?? []) this.#limitBlocked.set({ scope: g.scope, key: g.key ?? "" }, g.blocked);
    }
    return { counts, queue };
  }

  /** The same figures as JSON (for `tasks.queue.stats`). */
  async snapshot(queue: QueueStats | null): Promise<QueueMetricsSnapshot> {
    await this.flush();
    const summary = (m: Map<string, { count: number; sumMs: number }>): DurationSummary[] =>
      [...m]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([executor, s]) => ({ executorId: executor === "" ? null : executor, count: s.count, sumMs: s.sumMs }));
    const scheduleFirings = [...this.#firingCounts]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([scheduleId, count]) => ({ scheduleId, count }));
    return {
      queue,
      events: { ...this.#counts },
      waitTime: summary(this.#wait),
      runTime: summary(this.#run),
      scheduleFirings,
    };
  }

  #onEvent(event: TaskEvent): void {
    switch (event.type) {
      case "tree.started":
        if (event.executionId) this.#remember(this.#executionStart, event.executionId, Date.parse(event.at));
        return;
      case "task.started":
      case "task.completed":
      case "task.failed":
      case "task.retrying":
      case "task.cancelled":
        this.#pending.push(event);
        if (this.#pending.length === 1) this.#draining = this.#draining.then(() => this.#drain());
        return;
      default:
        return;
    }
  }

  /** Count a batch of events: one read for the tasks not tracked, one for started tasks' dependencies. */
  async #drain(): Promise<void> {
    const batch = this.#pending;
    if (batch.length === 0) return;
    this.#pending = [];
    try {
      const started = batch.filter((e) => e.type === "task.started");
      const need = [
        ...new Set(batch.filter((e) => e.type === "task.started" || !this.#tracked.has(e.taskId)).map((e) => e.taskId)),
      ];
      const tasks = new Map((await this.#store.getTasks(need)).map((t) => [t.id, t]));
      const depIds = new Set<string>();
      for (const e of started) {
        const task = tasks.get(e.taskId);
        for (const d of task?.dependencies ?? []) depIds.add(d.id);
        // Its root's runAt holds the task back too (read with the dependencies).
        if (task && task.rootId !== task.id) depIds.add(task.rootId);
      }
      const deps = new Map((await this.#store.getTasks([...depIds])).map((t) => [t.id, t]));
      for (const event of batch) await this.#count(event, tasks.get(event.taskId), deps);
    } catch {
      // A store read that fails (closing store) loses these figures, never the engine's work.
    }
  }

  async #count(event: TaskEvent, task: Task | undefined, deps: Map<string, Task>): Promise<void> {
    const known = this.#tracked.get(event.taskId);
    const executor = known?.executor ?? (task ? (executorIdOf(task).id ?? "") : "");
    const labels = { executor };
    const at = Date.parse(event.at);
    if (event.type === "task.started") {
      this.#claims.inc(labels);
      this.#counts.claims++;
      this.#remember(this.#tracked, event.taskId, { executor, startedAt: at });
      if (task && event.executionId) {
        const readyAt = await this.#readySince(task, event.executionId, deps);
        if (readyAt !== null) this.#observe(this.#waitSeconds, this.#wait, executor, Math.max(0, at - readyAt), {});
      }
      return;
    }
    if (event.error?.code === TaskErrorCode.LeaseExpired) {
      this.#leaseExpirations.inc(labels);
      this.#counts.leaseExpirations++;
    }
    const outcome = event.type.slice("task.".length);
    if (event.type === "task.completed") {
      this.#completions.inc(labels);
      this.#counts.completions++;
    } else if (event.type === "task.failed") {
      this.#failures.inc(labels);
      this.#counts.failures++;
    } else if (event.type === "task.retrying") {
      this.#retries.inc(labels);
      this.#counts.retries++;
    } else {
      this.#cancellations.inc(labels);
      this.#counts.cancellations++;
    }
    const startedAt = known?.startedAt ?? null;
    if (startedAt !== null && event.type !== "task.cancelled") {
      this.#observe(this.#runSeconds, this.#run, executor, Math.max(0, at - startedAt), { outcome });
    }
    // A retried task starts again later; anything else is done with.
    if (event.type === "task.retrying") this.#tracked.set(event.taskId, { executor, startedAt: null });
    else this.#tracked.delete(event.taskId);
  }

  async #readySince(task: Task, executionId: string, deps: Map<string, Task>): Promise<number | null> {
    let since = this.#executionStart.get(executionId);
    if (since === undefined) {
      const execution = await this.#store.getExecution(executionId);
      if (!execution) return null;
      since = Date.parse(execution.createdAt);
      this.#remember(this.#executionStart, executionId, since);
    }
    if (task.runAt !== null) since = Math.max(since, Date.parse(task.runAt));
    const rootRunAt = deps.get(task.rootId)?.runAt ?? null;
    if (rootRunAt !== null) since = Math.max(since, Date.parse(rootRunAt));
    for (const d of task.dependencies) {
      const done = deps.get(d.id)?.completedAt;
      if (done) since = Math.max(since, Date.parse(done));
    }
    return since;
  }

  #observe(
    histogram: Histogram<"executor"> | Histogram<"executor" | "outcome">,
    sums: Map<string, { count: number; sumMs: number }>,
    executor: string,
    ms: number,
    extra: Record<string, string>,
  ): void {
    (histogram as Histogram<string>).observe({ executor, ...extra }, ms / 1000);
    const s = sums.get(executor) ?? { count: 0, sumMs: 0 };
    s.count++;
    s.sumMs += ms;
    sums.set(executor, s);
  }

  #remember<V>(map: Map<string, V>, key: string, value: V): void {
    if (map.size >= MAX_TRACKED && !map.has(key)) {
      const oldest = map.keys().next();
      if (!oldest.done) map.delete(oldest.value);
    }
    map.set(key, value);
  }
}
