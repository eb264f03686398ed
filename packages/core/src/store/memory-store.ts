import { AlreadyExecutingError, LeaseLostError, NotFoundError } from "../errors.js";
import { notWaitingError } from "../task/wait.js";
import { isTerminal, type TransitionPatch, transition } from "../task/status.js";
import type {
  DependencyResult,
  Execution,
  JsonObject,
  JsonValue,
  NewEvent,
  NewTask,
  Task,
  TaskEvent,
  TaskStatus,
  WaitAnswer,
} from "../types.js";
import { newId } from "../util/ids.js";
import { cloneJson } from "../util/json.js";
import { validatePatch } from "./patch.js";
import { executorIdOf } from "../tree/executor-id.js";
import type {
  AttemptRecord,
  CancelOptions,
  CancelResult,
  ClaimOptions,
  ClaimedTask,
  CountQuery,
  NextDueOptions,
  FinishBatchResult,
  FinishItem,
  EventQuery,
  FinishResult,
  LeaseRef,
  MutationResult,
  ReclaimOptions,
  RenewResult,
  StartExecutionRequest,
  TaskOutcome,
  TaskPage,
  TaskPatch,
  TaskQuery,
  TaskStore,
  WaitingQuery,
} from "./types.js";
import { MemoryScheduleStore } from "../schedule/memory-schedule-store.js";
import { EventLog } from "./memory/event-log.js";
import { Executions } from "./memory/executions.js";
import { Leases } from "./memory/leases.js";
import { ReadyQueue } from "./memory/ready-queue.js";
import { DueTimes } from "./memory/due-times.js";
import { memoryQueueStats } from "../queue/memory.js";
import type { QueueStats, QueueStatsQuery } from "../queue/types.js";
import {
  currentAttempt,
  type Edge,
  storedCopy,
  type Row,
  NO_ROWS,
  recordEndedAttempt,
  runAtMs,
  snapshot,
  subjectOf,
} from "./memory/row.js";
import { emptyCounts, planRunSet } from "./run-set.js";
import { MemoryIdempotencyStore } from "../idempotency/memory.js";
import { MemoryA2aStateStore } from "../a2a-state/memory.js";
import { MemoryNodeStore } from "../nodes/memory.js";
import { MemoryLimitStore } from "../limits/memory.js";
import type { LimitRule } from "../limits/types.js";
import { LimitGate, type LimitSubject, RuleBook } from "../limits/gate.js";
import {
  cancelledEvent,
  cancelRequestError,
  cascadeError,
  cascadeEvent,
  checkDeletable,
  decideAnswer,
  decideExpiry,
  resumedEvent,
  WAITING,
  waitingEvent,
  waitExpiredEvent,
  clampProgress,
  closedAttempt,
  createdEvent,
  decideFinish,
  decideReclaim,
  dueAtMs,
  duplicateIdsError,
  executionIdTakenError,
  executionMarkedByCancel,
  finishEvent,
  type NextState,
  progressEvent,
  QUEUE_RESET,
  reclaimEvent,
  RERUN_RESET,
  RUNNING,
  requireNow,
  resolvesDependency,
  runningUpdateError,
  STATUS,
  startedEvent,
  stillRunningError,
  storeClosedError,
  orderFinished,
  treeFinishedEvent,
  treeStartedEvent,
  unknownReferencesError,
  missingTags,
  mayClaimPlaced,
  placementPlan,
} from "./rules.js";

/**
 * `TaskStore` in process memory. Single-threaded JavaScript makes every method atomic; the
 * ready set is incremental (unresolved counts + reverse index + a priority heap), so finishing
 * a task costs work proportional to its dependents.
 */
export class MemoryStore implements TaskStore {
  readonly idempotency = new MemoryIdempotencyStore();
  readonly a2a = new MemoryA2aStateStore();
  /** The node registry (nodes/memory.ts); handing back a dead node's leases is the store's own write. */
  readonly nodes = new MemoryNodeStore((owner, now) => {
    this.assertOpen();
    return this.leases.expireOwned(owner, requireNow(now, "expireLeases").getTime()).map((row) => row.task.id);
  });
  /** The limits facet; its rules and start-rate buckets are applied by `claimReady`. */
  readonly limits = new MemoryLimitStore();
  readonly inProcess = true;
  private readonly rows = new Map<string, Row>();
  private readonly trees = new Map<string, Row[]>();
  private readonly executions = new Executions();
  private readonly queue = new ReadyQueue(
    (row) => this.isReady(row),
    (row) => this.dueAt(row),
  );
  private readonly dueTimes = new DueTimes((row) => (this.isReady(row) ? this.dueAt(row) : null));
  private readonly leases = new Leases();
  private readonly log = new EventLog();
  /** Tasks in status `waiting` (found by signals and by the expiry). */
  private readonly waits = new Set<Row>();
  private ordinal = 0;
  private closed = false;
  /** The `now` of the write in progress (every write sets it first): the store has no clock. */
  private writeNow = 0;
  /** The schedules facet (its own tables, its own operations: schedule/memory-schedule-store.ts). */
  readonly schedules = new MemoryScheduleStore();

  async createTasks(tasks: NewTask[], now: Date): Promise<MutationResult<{ tasks: Task[] }>> {
    this.assertOpen();
    const at = requireNow(now, "createTasks").toISOString();
    // Every id is looked up as few times as possible: big trees spend their creation in map lookups.
    // The new rows are made first and enter the store only once the batch is known to be whole.
    const incoming = new Map<string, Row>();
    const duplicates: string[] = [];
    const created: Row[] = [];
    for (let i = 0; i < tasks.length; i++) {
      const t = tasks[i] as NewTask;
      const row = newRow(storedCopy(t));
      const before = incoming.size;
      incoming.set(t.id, row);
      if (incoming.size === before || this.rows.has(t.id)) duplicates.push(t.id);
      created.push(row);
    }
    if (duplicates.length > 0) throw duplicateIdsError(duplicates);
    const missing: string[] = [];
    const parents = new Array<Row | undefined>(created.length);
    for (let i = 0; i < created.length; i++) {
      const row = created[i] as Row;
      const { task } = row;
      const deps = task.dependencies;
      if (deps.length > 0) {
        // Sized once: an array grown by push keeps room for 17 entries, a lot per task in big trees.
        const upstream = new Array<Row>(deps.length);
        for (let k = 0; k < deps.length; k++) {
          const id = (deps[k] as NewTask["dependencies"][number]).id;
          const target = incoming.get(id) ?? this.rows.get(id);
          if (target === undefined) missing.push(id);
          else upstream[k] = target;
        }
        row.upstream = upstream;
      }
      if (task.parentId !== null) {
        const parent = incoming.get(task.parentId) ?? this.rows.get(task.parentId);
        if (parent === undefined) missing.push(task.parentId);
        else parents[i] = parent;
      }
    }
    if (missing.length > 0) throw unknownReferencesError(missing);

    // Tasks of one tree come together: the last tree's list is kept at hand.
    let treeRoot: string | null = null;
    let tree: Row[] = [];
    for (let i = 0; i < created.length; i++) {
      const row = created[i] as Row;
      const { task } = row;
      row.ordinal = ++this.ordinal;
      this.rows.set(task.id, row);
      if (task.rootId !== treeRoot) {
        treeRoot = task.rootId;
        const known = this.trees.get(treeRoot);
        if (known) tree = known;
        else this.trees.set(treeRoot, (tree = []));
      }
      tree.push(row);
    }
    const grown: Row[] = [];
    for (let i = 0; i < created.length; i++) {
      const row = created[i] as Row;
      const parent = parents[i];
      if (parent !== undefined) parent.task.hasChildren = true;
      const deps = row.task.dependencies;
      for (let k = 0; k < deps.length; k++) {
        const target = row.upstream[k] as Row;
        if (target.dependents === undefined) {
          target.dependents = [];
          grown.push(target);
        }
        target.dependents.push({ row, required: (deps[k] as NewTask["dependencies"][number]).required });
      }
    }
    // The reverse lists begun here are cut to their size (most tasks have one or two dependents).
    for (let i = 0; i < grown.length; i++) {
      const row = grown[i] as Row;
      row.dependents = (row.dependents as Edge[]).slice();
    }
    const events = this.log.append(created.map((r) => createdEvent(r.task, at)));
    return { tasks: created.map((r) => snapshot(r.task)), events };
  }

  async startExecution(request: StartExecutionRequest): Promise<MutationResult<{ execution: Execution }>> {
    this.assertOpen();
    const now = requireNow(request.now, "startExecution");
    this.writeNow = now.getTime();
    const at = now.toISOString();
    const target = this.row(request.taskId);
    const rootId = target.task.rootId;
    const running = this.executions.runningOf(rootId);
    if (running) throw new AlreadyExecutingError(rootId, running);
    const tree = this.trees.get(rootId) ?? [];
    const runSet = planRunSet(
      tree.map((r) => r.task),
      request.taskId,
      request.rerun ?? "failed",
    );

    const execution: Execution = {
      id: request.executionId ?? newId(),
      rootId,
      taskId: request.taskId,
      status: "running",
      cancelRequested: false,
      remaining: runSet.length,
      total: runSet.length,
      demo: request.demo ?? false,
      userId: request.userId === undefined ? target.task.userId : request.userId,
      createdAt: at,
      finishedAt: null,
    };
    if (this.executions.has(execution.id)) throw executionIdTakenError(execution.id);

    const plan = placementPlan(request.placement, (id) => this.rows.get(id)?.task.rootId === rootId);
    // The run set is in tree order: all of it (a fresh tree) is the tree itself.
    const rows = runSet.length === tree.length ? tree.slice() : runSet.map((id) => this.rows.get(id) as Row);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Row;
      if (row.task.status === RUNNING) throw stillRunningError(row.task.id);
    }
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Row;
      if (STATUS.rerunnable.includes(row.task.status)) {
        if (row.task.startedAt !== null)
          recordEndedAttempt(row, row.task.completedAt ?? at, row.task.status, row.task.error);
        const { task } = row;
        transition(task, RERUN_RESET.status, at);
        task.result = RERUN_RESET.result;
        task.error = RERUN_RESET.error;
        task.progress = RERUN_RESET.progress;
        task.completedAt = RERUN_RESET.completedAt;
      }
      row.checkpoint = QUEUE_RESET.checkpoint;
      row.task.wait = QUEUE_RESET.wait;
      row.task.runAt = row[QUEUE_RESET.runAt];
      row.cancelRequested = QUEUE_RESET.cancelRequested;
      row.executionId = execution.id;
      const placedOn = plan.assign.get(row.task.id);
      row.task.placedOn = placedOn ?? null;
      row.placeFollows = plan.follows && placedOn === undefined;
    }
    const newEvents: NewEvent[] = [treeStartedEvent(rootId, execution.id, at)];
    const finishedAtOnce = this.executions.open(execution, rows.length > 0, at);
    if (finishedAtOnce) newEvents.push(...finishedEvents([finishedAtOnce], at));
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i] as Row;
      row.unresolved = this.countUnresolved(row);
      this.offer(row);
    }
    const events = this.log.append(newEvents);
    return { execution: { ...execution }, events };
  }

  async nextDueAt(options: NextDueOptions): Promise<Date | null> {
    const ms = this.dueTimes.next(requireNow(options?.now, "nextDueAt").getTime());
    return ms === null ? null : new Date(ms);
  }

  async claimReady(options: ClaimOptions): Promise<MutationResult<{ claimed: ClaimedTask[] }>> {
    this.assertOpen();
    const nowMs = requireNow(options.now, "claimReady").getTime();
    this.writeNow = nowMs;
    const at = new Date(nowMs).toISOString();
    const claimed: ClaimedTask[] = [];
    const newEvents: NewEvent[] = [];
    const rules = this.limits.current();
    const gate = rules.length === 0 ? null : this.limitGate(rules, nowMs);
    const allowed = options.executors === undefined ? null : new Set(options.executors);
    const { owner, tags } = options;
    // Rows a limit or the allow-list keeps back go back to the queue after the claim: skipping
    // them, never stopping at them, is what keeps one blocked user from blocking the others.
    const skipped: Row[] = [];
    while (claimed.length < options.limit && !gate?.full) {
      const row = this.queue.take(nowMs);
      if (!row) break;
      // Placement (store/rules.ts): required tags, and tasks placed on a node that holds them.
      const { placement, placedOn } = row.task;
      if (
        (placement !== null && missingTags(placement, tags).length > 0) ||
        (placedOn !== null && !mayClaimPlaced(placedOn, owner, (id) => this.nodes.holds(id, nowMs)))
      ) {
        skipped.push(row);
        continue;
      }
      if (allowed !== null || gate !== null) {
        const subject = limitSubject(row);
        if ((allowed !== null && subject.executor !== null && !allowed.has(subject.executor)) || gate?.admit(subject)) {
          skipped.push(row);
          continue;
        }
      }
      const execution = this.executions.get(row.executionId as string) as Execution;
      transition(row.task, RUNNING, at);
      const leaseToken = this.leases.grant(row, options.owner, nowMs, options.leaseMs);
      claimed.push({
        task: snapshot(row.task),
        leaseToken,
        executionId: execution.id,
        demo: execution.demo,
        dependencies: this.dependencyResults(row),
        lastCheckpoint: cloneJson(row.checkpoint),
      });
      newEvents.push(startedEvent(subjectOf(row), row.task.progress, at));
    }
    for (const row of skipped) this.queue.offer(row, nowMs);
    if (gate) for (const [k, b] of gate.changedBuckets()) this.limits.buckets.set(k, b);
    return { claimed, events: this.log.append(newEvents) };
  }

  async finishTask(taskId: string, leaseToken: string, outcome: TaskOutcome, now: Date): Promise<FinishResult> {
    this.assertOpen();
    this.writeNow = requireNow(now, "finishTask").getTime();
    const finished: Execution[] = [];
    const newEvents: NewEvent[] = [];
    const at = now.toISOString();
    const task = this.finishOne(taskId, leaseToken, outcome, at, newEvents, finished);
    return { task: snapshot(task), ...this.closeWrite(newEvents, finished, at) };
  }

  async finishTasks(items: FinishItem[], now: Date): Promise<FinishBatchResult> {
    this.assertOpen();
    this.writeNow = requireNow(now, "finishTasks").getTime();
    const at = now.toISOString();
    const finished: Execution[] = [];
    const newEvents: NewEvent[] = [];
    const results: FinishBatchResult["results"] = [];
    for (const item of items) {
      try {
        const task = this.finishOne(item.taskId, item.leaseToken, item.outcome, at, newEvents, finished);
        // Copied only when read: the engine reads it only for afterTask hooks.
        results.push(new WrittenTask(item.taskId, task));
      } catch (err) {
        results.push({ taskId: item.taskId, task: null, error: err as Error });
      }
    }
    return { results, ...this.closeWrite(newEvents, finished, at) };
  }

  /** Apply one outcome; checks the lease before changing anything. */
  private finishOne(
    taskId: string,
    leaseToken: string,
    outcome: TaskOutcome,
    at: string,
    newEvents: NewEvent[],
    finished: Execution[],
  ): Task {
    const row = this.leased(taskId, leaseToken);
    this.leases.release(row);
    const next = decideFinish(outcome, row.cancelRequested, new Date(this.writeNow));
    return this.moveOn(row, next, at, newEvents, finished, false);
  }

  /** Apply a next state to a task whose lease was just released (finish or reclaim). */
  private moveOn(
    row: Row,
    next: NextState,
    at: string,
    newEvents: NewEvent[],
    finished: Execution[],
    reclaimed: boolean,
  ): Task {
    const { task } = row;
    const subject = subjectOf(row);
    if (next.status === "waiting") {
      recordEndedAttempt(row, at, "waiting", null);
      transition(task, WAITING, at);
      task.wait = next.wait;
      this.waits.add(row);
      newEvents.push(finishEvent(next, subject, null, at));
      return task;
    }
    if (next.status === "pending") {
      recordEndedAttempt(row, at, closedAttempt(next).status, next.error);
      const patch: TransitionPatch = {};
      if (next.runAt !== undefined) patch.runAt = next.runAt;
      if (next.resetProgress) patch.progress = 0;
      transition(task, "pending", at, patch);
      task.error = next.error;
      newEvents.push(reclaimed ? reclaimEvent(next, subject, at) : finishEvent(next, subject, null, at));
      this.offer(row);
      // A root's backoff is its tree's runAt too: its queued tasks are due at another time.
      if (next.runAt !== undefined && task.parentId === null) {
        for (const r of this.trees.get(task.rootId) ?? []) this.dueTimes.note(r, this.writeNow);
      }
      return task;
    }
    if (next.status === "completed") transition(task, "completed", at, { result: cloneJson(next.result) });
    else if (next.status === "failed") transition(task, "failed", at, { error: next.error });
    else {
      const patch: TransitionPatch = { error: next.error };
      if (next.result !== undefined) patch.result = cloneJson(next.result);
      transition(task, "cancelled", at, patch);
    }
    newEvents.push(
      reclaimed ? reclaimEvent(next, subject, at) : finishEvent(next, subject, cloneJson(task.result), at),
    );
    this.afterTerminal(row, at, newEvents, finished);
    return task;
  }

  async renewLeases(owner: string, leases: LeaseRef[], leaseMs: number, now: Date): Promise<RenewResult> {
    this.assertOpen();
    requireNow(now, "renewLeases");
    const result: RenewResult = { renewed: [], lost: [], cancelRequested: [] };
    const expiresAt = now.getTime() + leaseMs;
    for (const { taskId, leaseToken } of leases) {
      const row = this.rows.get(taskId);
      if (!row || !this.leases.holds(row, leaseToken, owner)) {
        result.lost.push(taskId);
        continue;
      }
      row.leaseExpiresAt = expiresAt;
      result.renewed.push(taskId);
      if (row.cancelRequested) result.cancelRequested.push(taskId);
    }
    return result;
  }

  async reclaimExpired(now: Date, options: ReclaimOptions = {}): Promise<MutationResult<{ tasks: Task[] }>> {
    this.assertOpen();
    const nowMs = requireNow(now, "reclaimExpired").getTime();
    this.writeNow = nowMs;
    const at = now.toISOString();
    const reclaimed: Task[] = [];
    const newEvents: NewEvent[] = [];
    const finished: Execution[] = [];
    for (const row of this.leases.expired(nowMs)) {
      const next = decideReclaim(
        {
          attempt: row.task.attempt,
          retry: row.task.retry,
          executorId: executorIdOf(row.task).id,
          cancelRequested: row.cancelRequested,
          leaseOwner: row.leaseOwner,
        },
        options,
      );
      this.leases.release(row);
      reclaimed.push(snapshot(this.moveOn(row, next, at, newEvents, finished, true)));
    }
    return { tasks: reclaimed, events: this.closeWrite(newEvents, finished, at).events };
  }

  async cancel(taskId: string, options: CancelOptions): Promise<CancelResult> {
    this.assertOpen();
    const now = requireNow(options?.now, "cancel");
    this.writeNow = now.getTime();
    const target = this.row(taskId);
    const at = now.toISOString();
    const error = cancelRequestError(options.reason);
    const newEvents: NewEvent[] = [];
    const finished: Execution[] = [];
    const result: CancelResult = { cancelled: [], running: [], finished, events: [] };
    const isRoot = target.task.parentId === null;
    const targets = isRoot ? (this.trees.get(target.task.rootId) ?? []) : [target];
    const marked = executionMarkedByCancel(
      { isRoot, status: target.task.status, executionId: target.executionId },
      this.executions.runningOf(target.task.rootId),
    );
    if (marked !== undefined) this.executions.requestCancel(marked);
    for (const row of targets) {
      if (row.task.status === RUNNING) {
        row.cancelRequested = true;
        result.running.push({ taskId: row.task.id, leaseOwner: row.leaseOwner });
      }
    }
    for (const row of targets) {
      if (!STATUS.cancellableAtOnce.includes(row.task.status)) continue;
      this.waits.delete(row);
      transition(row.task, "cancelled", at, { error });
      result.cancelled.push(row.task.id);
      newEvents.push(cancelledEvent(subjectOf(row), error, at));
      // A root cancel cancels the whole tree, so there is nothing left to cascade to.
      this.afterTerminal(row, at, newEvents, finished, !isRoot, result.cancelled);
    }
    const closed = this.closeWrite(newEvents, finished, at);
    result.finished = closed.finished;
    result.events = closed.events;
    return result;
  }

  async reportProgress(
    taskId: string,
    leaseToken: string,
    progress: number,
    message: string | undefined,
    now: Date,
  ): Promise<MutationResult<Record<never, never>>> {
    this.assertOpen();
    requireNow(now, "reportProgress");
    const row = this.leased(taskId, leaseToken);
    row.task.progress = clampProgress(progress);
    row.task.updatedAt = now.toISOString();
    return { events: this.log.append([progressEvent(subjectOf(row), row.task.progress, message, row.task.updatedAt)]) };
  }

  async saveInputs(taskId: string, leaseToken: string, inputs: JsonObject): Promise<void> {
    this.assertOpen();
    this.leased(taskId, leaseToken).task.inputs = cloneJson(inputs);
  }

  async saveCheckpoint(taskId: string, leaseToken: string, state: JsonValue): Promise<void> {
    this.assertOpen();
    this.leased(taskId, leaseToken).checkpoint = cloneJson(state);
  }

  async resumeTask(
    taskId: string,
    answer: WaitAnswer,
    now: Date,
  ): Promise<MutationResult<{ task: Task; resumed: boolean }>> {
    this.assertOpen();
    this.writeNow = requireNow(now, "resumeTask").getTime();
    const row = this.row(taskId);
    const { task } = row;
    if (task.status !== WAITING || task.wait === null) throw notWaitingError(taskId, task.status);
    const at = now.toISOString();
    const decided = decideAnswer(taskId, task.wait, { ...answer, input: cloneJson(answer.input) });
    task.wait = decided.wait;
    task.updatedAt = at;
    const subject = subjectOf(row);
    if (!decided.resumes) {
      return { task: snapshot(task), resumed: false, events: this.log.append([waitingEvent(subject, task.wait, at)]) };
    }
    this.waits.delete(row);
    transition(task, "pending", at);
    this.queue.offer(row, this.writeNow);
    const last = decided.wait.answers[decided.wait.answers.length - 1] as WaitAnswer;
    return { task: snapshot(task), resumed: true, events: this.log.append([resumedEvent(subject, last, at)]) };
  }

  async findWaiting(query: WaitingQuery): Promise<Task[]> {
    const key = query.key ?? null;
    const out: Row[] = [];
    for (const row of this.waits) {
      const wait = row.task.wait;
      if (wait?.event !== query.event || (wait.key ?? null) !== key) continue;
      if (query.userId !== undefined && row.task.userId !== query.userId) continue;
      out.push(row);
    }
    out.sort((a, b) => a.ordinal - b.ordinal);
    return out.slice(0, query.limit ?? 1000).map((r) => snapshot(r.task));
  }

  async expireWaits(
    now: Date,
    options: { limit?: number } = {},
  ): Promise<MutationResult<{ tasks: Task[]; finished: Execution[] }>> {
    this.assertOpen();
    const nowMs = requireNow(now, "expireWaits").getTime();
    this.writeNow = nowMs;
    const at = now.toISOString();
    const due = [...this.waits]
      .filter((r) => r.task.wait?.deadline !== undefined && Date.parse(r.task.wait.deadline) <= nowMs)
      .sort((a, b) => a.ordinal - b.ordinal)
      .slice(0, options.limit ?? 100);
    const newEvents: NewEvent[] = [];
    const finished: Execution[] = [];
    const tasks: Task[] = [];
    for (const row of due) {
      this.waits.delete(row);
      const decided = decideExpiry(row.task.wait as NonNullable<Task["wait"]>, at);
      row.task.wait = decided.wait;
      const subject = subjectOf(row);
      if (decided.status === "failed") {
        transition(row.task, "failed", at, { error: decided.error });
        newEvents.push(waitExpiredEvent(subject, decided.error, at));
        this.afterTerminal(row, at, newEvents, finished);
      } else {
        transition(row.task, "pending", at);
        newEvents.push(resumedEvent(subject, null, at));
        this.queue.offer(row, this.writeNow);
      }
      tasks.push(snapshot(row.task));
    }
    const closed = this.closeWrite(newEvents, finished, at);
    return { tasks, finished: closed.finished, events: closed.events };
  }

  async appendEvents(events: NewEvent[]): Promise<TaskEvent[]> {
    this.assertOpen();
    return this.log.append(events);
  }

  async readEvents(query: EventQuery): Promise<TaskEvent[]> {
    return this.log.read(query);
  }

  async getTask(id: string): Promise<Task | null> {
    const row = this.rows.get(id);
    return row ? snapshot(row.task) : null;
  }

  async getTasks(ids: string[]): Promise<Task[]> {
    const out: Task[] = [];
    for (const id of ids) {
      const row = this.rows.get(id);
      if (row) out.push(snapshot(row.task));
    }
    return out;
  }

  async listTasks(query: TaskQuery = {}): Promise<TaskPage> {
    const statuses = query.status === undefined ? null : new Set(toArray(query.status));
    const source = query.rootId !== undefined ? (this.trees.get(query.rootId) ?? []) : this.rows.values();
    const matches: Row[] = [];
    for (const row of source) {
      const t = row.task;
      if (query.userId !== undefined && t.userId !== query.userId) continue;
      if (statuses && !statuses.has(t.status)) continue;
      if (query.parentId !== undefined && t.parentId !== query.parentId) continue;
      if (query.rootsOnly && t.parentId !== null) continue;
      matches.push(row);
    }
    matches.sort((a, b) => (query.order === "-createdAt" ? b.ordinal - a.ordinal : a.ordinal - b.ordinal));
    const offset = query.offset ?? 0;
    const limit = query.limit ?? 100;
    return { tasks: matches.slice(offset, offset + limit).map((r) => snapshot(r.task)), total: matches.length };
  }

  async getTree(rootId: string): Promise<Task[]> {
    return (this.trees.get(rootId) ?? []).map((r) => snapshot(r.task));
  }

  async getChildren(parentId: string): Promise<Task[]> {
    const parent = this.rows.get(parentId);
    if (!parent) return [];
    return (this.trees.get(parent.task.rootId) ?? [])
      .filter((r) => r.task.parentId === parentId)
      .map((r) => snapshot(r.task));
  }

  async countByStatus(query: CountQuery = {}): Promise<Record<TaskStatus, number>> {
    const counts = emptyCounts();
    const source = query.rootId !== undefined ? (this.trees.get(query.rootId) ?? []) : this.rows.values();
    for (const row of source) {
      if (query.userId !== undefined && row.task.userId !== query.userId) continue;
      if (query.rootsOnly && row.task.parentId !== null) continue;
      counts[row.task.status]++;
    }
    return counts;
  }

  /** The queue-stats facet (src/queue/). */
  queueStats(q: QueueStatsQuery): Promise<QueueStats> {
    return memoryQueueStats(this.rows, this.executions, q, this.limits);
  }

  async getAttempts(taskId: string): Promise<AttemptRecord[]> {
    const row = this.row(taskId);
    const records = (row.attempts ?? []).map((a) => ({ ...a }));
    const { task } = row;
    // The current (or last) attempt's outcome is the task's own state; it is not copied aside.
    if (task.attempt > records.length && task.startedAt !== null && task.status !== "pending") {
      records.push(currentAttempt(row));
    }
    return records;
  }

  async getExecution(id: string): Promise<Execution | null> {
    const execution = this.executions.get(id);
    return execution ? { ...execution } : null;
  }

  async listExecutions(
    query: { rootId?: string; status?: Execution["status"]; limit?: number } = {},
  ): Promise<Execution[]> {
    return this.executions.list(query);
  }

  async updateTask(id: string, patch: TaskPatch, now: Date): Promise<Task> {
    this.assertOpen();
    this.writeNow = requireNow(now, "updateTask").getTime();
    const row = this.row(id);
    if (row.task.status === RUNNING) throw runningUpdateError(id);
    const valid = validatePatch(patch);
    const { task } = row;
    if (valid.name !== undefined) task.name = valid.name;
    if (valid.inputs !== undefined) task.inputs = cloneJson(valid.inputs);
    if (valid.params !== undefined) task.params = cloneJson(valid.params);
    if (valid.schemas !== undefined) task.schemas = cloneJson(valid.schemas as JsonObject);
    if (valid.metadata !== undefined) task.metadata = cloneJson(valid.metadata);
    if (valid.retry !== undefined) task.retry = valid.retry;
    if (valid.runAt !== undefined) {
      task.runAt = valid.runAt;
      row.userRunAt = valid.runAt;
      if (row.queued) this.queue.requeueAll(this.writeNow);
      // A root's runAt holds back its tree: every queued task of it may be due at another time.
      const moved = task.parentId === null ? (this.trees.get(task.rootId) ?? []) : [row];
      for (const r of moved) this.dueTimes.note(r, this.writeNow);
    }
    if (valid.priority !== undefined && valid.priority !== task.priority) {
      task.priority = valid.priority as Task["priority"];
      if (row.queued) this.queue.reprioritise();
    }
    task.updatedAt = now.toISOString();
    return snapshot(task);
  }

  async deleteTask(id: string): Promise<{ deleted: string[] }> {
    this.assertOpen();
    const target = this.row(id);
    const tree = this.trees.get(target.task.rootId) ?? [];
    const doomed = new Set<string>([id]);
    for (const row of tree) {
      // Tree order is creation order and parents are created before children.
      if (row.task.parentId !== null && doomed.has(row.task.parentId)) doomed.add(row.task.id);
    }
    checkDeletable(
      [...doomed].map((taskId) => {
        const row = this.rows.get(taskId) as Row;
        return { id: taskId, status: row.task.status, executionId: row.executionId };
      }),
      (taskId) => ((this.rows.get(taskId) as Row).dependents ?? []).map((e) => e.row.task.id),
      (executionId) => this.isRunning(executionId),
    );
    for (const taskId of doomed) {
      const row = this.rows.get(taskId) as Row;
      for (const dep of row.task.dependencies) {
        const upstream = this.rows.get(dep.id);
        if (upstream?.dependents) upstream.dependents = upstream.dependents.filter((e) => e.row !== row);
      }
      this.rows.delete(taskId);
      this.waits.delete(row);
    }
    const remaining = tree.filter((r) => !doomed.has(r.task.id));
    if (remaining.length === 0) this.trees.delete(target.task.rootId);
    else this.trees.set(target.task.rootId, remaining);
    const parentId = target.task.parentId;
    if (parentId !== null) {
      const parent = this.rows.get(parentId);
      if (parent) parent.task.hasChildren = remaining.some((r) => r.task.parentId === parentId);
    }
    return { deleted: [...doomed] };
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  // ---- internals -------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closed) throw storeClosedError();
  }

  private row(id: string): Row {
    const row = this.rows.get(id);
    if (!row) throw new NotFoundError("task", id);
    return row;
  }

  private leased(taskId: string, leaseToken: string): Row {
    const row = this.row(taskId);
    if (!this.leases.holds(row, leaseToken)) throw new LeaseLostError(taskId);
    return row;
  }

  private isRunning(executionId: string): boolean {
    return this.executions.isRunning(executionId);
  }

  /** Queue a row (the ready queue takes it when it is ready and due) and note when it is due. */
  private offer(row: Row): void {
    // Both do nothing for a row that is not ready; its due time is read once for both.
    if (!this.isReady(row)) return;
    const dueMs = this.dueAt(row);
    this.queue.offerReady(row, this.writeNow, dueMs);
    this.dueTimes.noteDue(row, dueMs, this.writeNow);
  }

  private isReady(row: Row): boolean {
    return (
      STATUS.claimable.includes(row.task.status) &&
      row.unresolved === 0 &&
      row.executionId !== null &&
      this.isRunning(row.executionId)
    );
  }

  /** When a queued row may start: its own `runAt`, and its root's (a root's `runAt` holds back its tree). */
  private dueAt(row: Row): number {
    if (row.task.parentId === null) return runAtMs(row);
    return dueAtMs(row.task.runAt, this.rows.get(row.task.rootId)?.userRunAt ?? null);
  }

  /** The limits of one claim: the running counts from the tasks in progress (leased), never counters. */
  private limitGate(rules: readonly LimitRule[], nowMs: number): LimitGate {
    const running: LimitSubject[] = [];
    for (const row of this.leases.running()) running.push(limitSubject(row));
    return new LimitGate(new RuleBook(rules), running, this.limits.buckets, nowMs);
  }

  private countUnresolved(row: Row): number {
    const deps = row.task.dependencies;
    let n = 0;
    for (let i = 0; i < deps.length; i++) {
      if (!resolvesDependency((deps[i] as Task["dependencies"][number]).required, (row.upstream[i] as Row).task.status))
        n++;
    }
    return n;
  }

  private dependencyResults(row: Row): DependencyResult[] {
    const deps = row.task.dependencies;
    if (deps.length === 0) return [];
    // Sized once (a list grown by push keeps room for 17 entries); every entry is filled.
    const out = new Array<DependencyResult>(deps.length);
    for (let i = 0; i < deps.length; i++) {
      const t = (row.upstream[i] as Row).task;
      const required = (deps[i] as Task["dependencies"][number]).required;
      out[i] = { id: t.id, name: t.name, status: t.status, required, result: cloneJson(t.result) };
    }
    return out;
  }

  /**
   * Book-keeping after a task became terminal: release its dependents (cascading
   * `DEPENDENCY_FAILED` through required edges when it did not complete) and count it against
   * its execution, finishing the execution when nothing of it is left.
   */
  private afterTerminal(
    row: Row,
    at: string,
    events: NewEvent[],
    finished: Execution[],
    cascade = true,
    failedIds?: string[],
  ): void {
    // Breadth first through the cascade; the list is made only when a cascade fails a task.
    let queue: Row[] | null = null;
    let next = 0;
    for (let current: Row | undefined = row; current !== undefined; current = queue?.[next++]) {
      this.countTerminal(current, at, finished);
      const edges = current.dependents;
      if (!cascade || edges === undefined) continue;
      const ok = resolvesDependency(true, current.task.status);
      for (let i = 0; i < edges.length; i++) {
        const edge = edges[i] as Edge;
        const dependent = edge.row;
        if (isTerminal(dependent.task.status)) continue;
        if (ok || !edge.required) {
          if (STATUS.queued.includes(dependent.task.status) && dependent.unresolved > 0) {
            dependent.unresolved--;
            // Dependency affinity: placed on the node that completed this dependency.
            if (ok && dependent.placeFollows) dependent.task.placedOn = current.lastOwner;
            this.offer(dependent);
          }
          continue;
        }
        if (!STATUS.failableByCascade.includes(dependent.task.status)) continue;
        this.waits.delete(dependent);
        const error = cascadeError(current.task);
        transition(dependent.task, "failed", at, { error });
        events.push(cascadeEvent(subjectOf(dependent), error, at));
        failedIds?.push(dependent.task.id);
        (queue ??= []).push(dependent);
      }
    }
  }

  private countTerminal(row: Row, at: string, finished: Execution[]): void {
    const done = this.executions.countTerminal(row.executionId, row.task.status, at);
    if (done) finished.push(done);
  }

  /** A write's end: its `tree.finished` events come after its task events (core's `orderFinished`). */
  private closeWrite(
    newEvents: NewEvent[],
    finished: Execution[],
    at: string,
  ): { finished: Execution[]; events: TaskEvent[] } {
    const ordered = orderFinished(finished);
    for (const e of finishedEvents(ordered, at)) newEvents.push(e);
    return { finished: ordered, events: this.log.append(newEvents) };
  }
}

/**
 * One written outcome of `finishTasks`: `task` is a snapshot taken when read (a class, because
 * an object literal with a getter is slow to create and there is one per finished task).
 */
class WrittenTask {
  readonly error = null;

  constructor(
    readonly taskId: string,
    private readonly written: Task,
  ) {}

  get task(): Task {
    return snapshot(this.written);
  }

  /** Serialised as the plain item it stands for (`{taskId, task, error}`). */
  toJSON(): { taskId: string; task: Task; error: null } {
    return { taskId: this.taskId, task: this.task, error: this.error };
  }
}

/** A stored task's row before it is queued or run (its ordinal is given when the batch is stored). */
function newRow(task: Task): Row {
  return {
    task,
    ordinal: 0,
    unresolved: 0,
    dependents: undefined,
    upstream: NO_ROWS,
    executionId: null,
    leaseOwner: null,
    leaseToken: null,
    leaseExpiresAt: 0,
    cancelRequested: false,
    queued: false,
    checkpoint: null,
    attempts: undefined,
    lastOwner: null,
    userRunAt: task.runAt,
    placeFollows: false,
  };
}

function finishedEvents(executions: readonly Execution[], at: string): NewEvent[] {
  return executions.map((e) => treeFinishedEvent(e, e.status, at));
}

function limitSubject(row: Row): LimitSubject {
  return { userId: row.task.userId, rootId: row.task.rootId, executor: executorIdOf(row.task).id };
}

function toArray<T>(v: T | T[]): T[] {
  return Array.isArray(v) ? v : [v];
}
