import {
  type AttemptRecord,
  type CancelOptions,
  type CancelResult,
  type ClaimedTask,
  type ClaimOptions,
  type CountQuery,
  type EventQuery,
  LeaseLostError,
  type Execution,
  type FinishBatchResult,
  type FinishItem,
  type FinishResult,
  type JsonObject,
  type JsonValue,
  type LeaseRef,
  type MutationResult,
  type NewEvent,
  type NewTask,
  NotFoundError,
  type QueueStats,
  type QueueStatsQuery,
  type NextDueOptions,
  type ReclaimOptions,
  type RenewResult,
  type StartExecutionRequest,
  storeRules,
  type SubmitStart,
  type Task,
  type TaskEvent,
  type TaskOutcome,
  type TaskPage,
  type TaskPatch,
  type TaskQuery,
  type TaskStatus,
  type TaskStore,
  type WaitAnswer,
  type WaitingQuery,
} from "@aipartnerupflow/core";
import type { SqlDatabase, SqlSession } from "../db/types.js";
import { appendEvents } from "../sql/append-events.js";
import { cancelTasks } from "../sql/cancel.js";
import { claimReady, claimReadyAtOnce } from "../sql/claim-ready.js";
import { deleteTask } from "../sql/delete-task.js";
import { ExecutionLedger, finishZeroed } from "../sql/execution-accounting.js";
import { type CompletedItem, completeAtOnce, finishCompleted } from "../sql/finish-completed.js";
import { finishTask } from "../sql/finish-task.js";
import { insertTasks } from "../sql/insert-tasks.js";
import { reportProgress, saveLeasedJson } from "../sql/lease-writes.js";
import { readEvents } from "../sql/read-events.js";
import {
  countByStatus,
  listExecutions,
  listTasks,
  readAttempts,
  readChildren,
  readExecution,
  readTask,
  readTasksById,
} from "../sql/read-tasks.js";
import { readTree } from "../sql/read-tree.js";
import { reclaimExpired } from "../sql/reclaim-expired.js";
import { renewLeases } from "../sql/renew-leases.js";
import { nextDueAt } from "../sql/next-due.js";
import { startExecution } from "../sql/start-execution.js";
import { submitAtOnce, submitsAtOnce } from "../sql/submit-at-once.js";
import { submitTrees } from "../sql/submit-trees.js";
import { updateTask } from "../sql/update-task.js";
import { anyWaitDue, expireWaits, findWaiting, resumeTask } from "../sql/waits.js";
import type { Provider } from "../types.js";
import { SqlIdempotencyStore } from "../idempotency/sql-idempotency-store.js";
import { queueStats } from "../queue/queue-stats.js";
import { type SqlScheduleStore, sqlSchedules } from "../schedules/sql-schedule-store.js";
import { type SqlLimitStore, sqlLimits } from "../limits/sql-limit-store.js";
import { SqlA2aStateStore } from "../a2a-state/sql-a2a-state-store.js";
import { SqlNodeStore } from "../nodes/sql-node-store.js";

const { requireNow } = storeRules;

/**
 * core's `TaskStore` on SQLite or PostgreSQL. Every state change is one transaction of
 * hand-written SQL (src/sql/, one file per operation) that also appends its events; reads are
 * raw SQL on the same connection too (src/sql/read-*.ts). The Prisma models (prisma/) remain the
 * schema's source of truth: the migrations are checked against them (schema-agreement test).
 */
export class PrismaTaskStore implements TaskStore {
  private closed = false;

  constructor(
    readonly provider: Provider,
    private readonly db: SqlDatabase,
    readonly idempotency = new SqlIdempotencyStore(db),
    readonly a2a = new SqlA2aStateStore(db),
    readonly nodes = new SqlNodeStore(db),
  ) {}

  /** The limits facet (table `limit_rules`, src/limits/); the claim applies its rules. */
  get limits(): SqlLimitStore {
    return sqlLimits(this.db);
  }

  /** The schedules facet (its own tables and SQL: src/schedules/). */
  get schedules(): SqlScheduleStore {
    return sqlSchedules(this.db);
  }

  /**
   * Run a state change in one transaction and append the events it produced there too. `close`,
   * when the work returns one, runs after the work and its events come after the work's: the
   * execution accounting goes there, so that the executions row — the one row every finishing
   * transaction of a tree writes — is locked (PostgreSQL) only for the end of the transaction.
   * All events are appended last, in one call: on PostgreSQL the append takes the events lock
   * (serialising appends so that seq order is commit order), which must be held as briefly as
   * possible and be the last lock the transaction takes.
   */
  private mutate<T extends { events: NewEvent[]; close?: (tx: SqlSession) => Promise<NewEvent[]> }>(
    work: (tx: SqlSession) => Promise<T>,
  ): Promise<Omit<T, "events" | "close"> & { events: TaskEvent[] }> {
    this.assertOpen();
    return this.db.transaction(async (tx) => {
      const { close, ...result } = await work(tx);
      const more = close ? await close(tx) : [];
      const all = more.length === 0 ? result.events : [...result.events, ...more];
      const events = all.length === 0 ? [] : await appendEvents(tx, all);
      return { ...result, events } as Omit<T, "events" | "close"> & { events: TaskEvent[] };
    });
  }

  async createTasks(tasks: NewTask[], now: Date): Promise<MutationResult<{ tasks: Task[] }>> {
    const at = requireNow(now, "createTasks").toISOString();
    return this.mutate((tx) => insertTasks(tx, tasks, at));
  }

  async submitTrees(
    tasks: NewTask[],
    starts: SubmitStart[],
    now: Date,
  ): Promise<MutationResult<{ tasks: Task[]; executions: Execution[] }>> {
    const at = requireNow(now, "submitTrees").toISOString();
    // PostgreSQL, a fresh self-contained submission (what `submit` makes): one statement, no
    // transaction of several round trips. Starts with a placement write their preferences after the
    // tasks, in the transaction.
    if (this.db.dialect === "postgres" && starts.every((s) => s.placement === undefined) && submitsAtOnce(tasks)) {
      this.assertOpen();
      return submitAtOnce(this.db, tasks, starts, at);
    }
    return this.mutate((tx) => submitTrees(tx, tasks, starts, at));
  }

  async startExecution(request: StartExecutionRequest): Promise<MutationResult<{ execution: Execution }>> {
    const at = requireNow(request.now, "startExecution").toISOString();
    return this.mutate((tx) => startExecution(tx, request, at));
  }

  async claimReady(options: ClaimOptions): Promise<MutationResult<{ claimed: ClaimedTask[] }>> {
    const now = requireNow(options.now, "claimReady");
    if (this.db.dialect === "postgres") {
      this.assertOpen();
      return claimReadyAtOnce(this.db, options, now);
    }
    return this.mutate((tx) => claimReady(tx, options, now));
  }

  async finishTask(taskId: string, leaseToken: string, outcome: TaskOutcome, now: Date): Promise<FinishResult> {
    requireNow(now, "finishTask");
    return this.mutate(async (tx) => {
      const ledger = new ExecutionLedger();
      const { task, events } = await finishTask(tx, taskId, leaseToken, outcome, now, ledger);
      const finished: Execution[] = [];
      const close = async (tx: SqlSession): Promise<NewEvent[]> => {
        const more: NewEvent[] = [];
        await ledger.apply(tx, now.toISOString(), more, finished);
        return more;
      };
      return { task, events, finished, close };
    });
  }

  /**
   * Finish many claimed tasks in one transaction (the engine batches outcomes per event-loop
   * turn). Completions are written together in a fixed number of statements; other outcomes one
   * by one, each inside a SAVEPOINT on SQLite, so a refused one (stale token) leaves the others.
   */
  async finishTasks(items: FinishItem[], now: Date): Promise<FinishBatchResult> {
    requireNow(now, "finishTasks");
    if (items.length === 0) return { results: [], finished: [], events: [] };
    if (this.db.dialect === "postgres" && items.every((i) => i.outcome.status === "completed")) {
      this.assertOpen();
      return completeAtOnce(this.db, items as CompletedItem[], now);
    }
    const result = await this.mutate(async (tx) => {
      const out: Omit<FinishBatchResult, "events"> & { events: NewEvent[] } = { results: [], finished: [], events: [] };
      const ledger = new ExecutionLedger();
      // SQLite isolates each item in a SAVEPOINT (cheap in-process). On PostgreSQL a database
      // error aborts the whole transaction anyway (every item is refused, nothing is written), and
      // a refused lease writes nothing, so the two round trips per item are saved.
      const isolate = tx.dialect === "sqlite";
      const completed = items.filter((i): i is CompletedItem => i.outcome.status === "completed");
      const byId = new Map<string, Task | Error>();
      // PostgreSQL, a batch of completions only (the engine's common case): the executions are
      // counted in the completing statement itself; those it brought to zero are finished last.
      const account = tx.dialect === "postgres" && completed.length === items.length;
      let zeroed: string[] = [];
      if (completed.length > 0) {
        const r = await finishCompleted(tx, completed, now, ledger, account);
        for (const [id, value] of r.results) byId.set(id, value);
        for (const e of r.events) out.events.push(e);
        zeroed = r.zeroed;
      }
      for (const item of items) {
        if (item.outcome.status === "completed") continue;
        const itemLedger = new ExecutionLedger();
        if (isolate) await tx.run("SAVEPOINT apflow_finish");
        try {
          const r = await finishTask(tx, item.taskId, item.leaseToken, item.outcome, now, itemLedger);
          if (isolate) await tx.run("RELEASE SAVEPOINT apflow_finish");
          ledger.merge(itemLedger);
          byId.set(item.taskId, r.task);
          for (const e of r.events) out.events.push(e);
        } catch (err) {
          if (isolate) {
            await tx.run("ROLLBACK TO SAVEPOINT apflow_finish");
            await tx.run("RELEASE SAVEPOINT apflow_finish");
          } else if (!(err instanceof LeaseLostError || err instanceof NotFoundError)) throw err;
          byId.set(item.taskId, err instanceof Error ? err : new Error(String(err)));
        }
      }
      for (const item of items) {
        const value = byId.get(item.taskId) as Task | Error;
        out.results.push(
          value instanceof Error
            ? { taskId: item.taskId, task: null, error: value }
            : { taskId: item.taskId, task: value, error: null },
        );
      }
      const close = async (tx: SqlSession): Promise<NewEvent[]> => {
        const more: NewEvent[] = [];
        await ledger.apply(tx, now.toISOString(), more, out.finished);
        await finishZeroed(tx, zeroed, now.toISOString(), more, out.finished);
        return more;
      };
      return { ...out, close };
    });
    return result;
  }

  async nextDueAt(options: NextDueOptions): Promise<Date | null> {
    return nextDueAt(this.db, requireNow(options?.now, "nextDueAt"));
  }

  async renewLeases(owner: string, leases: LeaseRef[], leaseMs: number, now: Date): Promise<RenewResult> {
    this.assertOpen();
    requireNow(now, "renewLeases");
    if (leases.length === 0) return { renewed: [], lost: [], cancelRequested: [] };
    return renewLeases(this.db, owner, leases, leaseMs, now);
  }

  async reclaimExpired(now: Date, options: ReclaimOptions = {}): Promise<MutationResult<{ tasks: Task[] }>> {
    requireNow(now, "reclaimExpired");
    const result = await this.mutate((tx) => reclaimExpired(tx, now, options));
    return { tasks: result.tasks, events: result.events };
  }

  async cancel(taskId: string, options: CancelOptions): Promise<CancelResult> {
    const now = requireNow(options?.now, "cancel");
    return this.mutate((tx) => cancelTasks(tx, taskId, options, now));
  }

  async resumeTask(
    taskId: string,
    answer: WaitAnswer,
    now: Date,
  ): Promise<MutationResult<{ task: Task; resumed: boolean }>> {
    requireNow(now, "resumeTask");
    return this.mutate((tx) => resumeTask(tx, taskId, answer, now));
  }

  async findWaiting(query: WaitingQuery): Promise<Task[]> {
    return findWaiting(this.db, query);
  }

  async expireWaits(
    now: Date,
    options: { limit?: number } = {},
  ): Promise<MutationResult<{ tasks: Task[]; finished: Execution[] }>> {
    requireNow(now, "expireWaits");
    this.assertOpen();
    if (!(await anyWaitDue(this.db, now))) return { tasks: [], finished: [], events: [] };
    return this.mutate(async (tx) => {
      const ledger = new ExecutionLedger();
      const result = await expireWaits(tx, now, options.limit ?? 100, ledger);
      const close = async (tx: SqlSession): Promise<NewEvent[]> => {
        const more: NewEvent[] = [];
        await ledger.apply(tx, now.toISOString(), more, result.finished);
        return more;
      };
      return { ...result, close };
    });
  }

  async reportProgress(
    taskId: string,
    leaseToken: string,
    progress: number,
    message: string | undefined,
    now: Date,
  ): Promise<MutationResult<Record<never, never>>> {
    requireNow(now, "reportProgress");
    const result = await this.mutate(async (tx) => ({
      events: [await reportProgress(tx, taskId, leaseToken, progress, message, now)],
    }));
    return { events: result.events };
  }

  async saveInputs(taskId: string, leaseToken: string, inputs: JsonObject): Promise<void> {
    this.assertOpen();
    await this.db.transaction((tx) => saveLeasedJson(tx, "inputs", taskId, leaseToken, inputs));
  }

  async saveCheckpoint(taskId: string, leaseToken: string, state: JsonValue): Promise<void> {
    this.assertOpen();
    await this.db.transaction((tx) => saveLeasedJson(tx, "checkpoint", taskId, leaseToken, state));
  }

  async appendEvents(events: NewEvent[]): Promise<TaskEvent[]> {
    this.assertOpen();
    if (events.length === 0) return [];
    return this.db.transaction((tx) => appendEvents(tx, events));
  }

  async readEvents(query: EventQuery): Promise<TaskEvent[]> {
    return readEvents(this.db, query);
  }

  async getTask(id: string): Promise<Task | null> {
    return readTask(this.db, id);
  }

  async getTasks(ids: string[]): Promise<Task[]> {
    return readTasksById(this.db, ids);
  }

  async listTasks(query: TaskQuery = {}): Promise<TaskPage> {
    return listTasks(this.db, query);
  }

  async getTree(rootId: string): Promise<Task[]> {
    return readTree(this.db, rootId);
  }

  async getChildren(parentId: string): Promise<Task[]> {
    return readChildren(this.db, parentId);
  }

  async countByStatus(query: CountQuery = {}): Promise<Record<TaskStatus, number>> {
    return countByStatus(this.db, query);
  }

  /** The queue-stats facet (src/queue/). */
  queueStats(query: QueueStatsQuery): Promise<QueueStats> {
    return queueStats(this.db, query, this.limits);
  }

  async getAttempts(taskId: string): Promise<AttemptRecord[]> {
    return readAttempts(this.db, taskId);
  }

  async getExecution(id: string): Promise<Execution | null> {
    return readExecution(this.db, id);
  }

  async listExecutions(
    query: { rootId?: string; status?: Execution["status"]; limit?: number } = {},
  ): Promise<Execution[]> {
    return listExecutions(this.db, query);
  }

  async updateTask(id: string, patch: TaskPatch, now: Date): Promise<Task> {
    this.assertOpen();
    requireNow(now, "updateTask");
    return this.db.transaction((tx) => updateTask(tx, id, patch, now));
  }

  async deleteTask(id: string): Promise<{ deleted: string[] }> {
    this.assertOpen();
    return this.db.transaction((tx) => deleteTask(tx, id));
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.db.close();
  }

  private assertOpen(): void {
    if (this.closed) throw storeRules.storeClosedError();
  }
}
