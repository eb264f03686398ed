import { LeaseLostError, TaskErrorCode, TaskFailure, toTaskError } from "../errors.js";
import type { Logger } from "../logger.js";
import type { Registry } from "../registry/registry.js";
import type { ExecutorContext, RegisteredExecutor } from "../registry/types.js";
import { checkSchema, declaredProperties } from "../schema/schema.js";
import type { ClaimedTask, TaskOutcome, TaskStore } from "../store/types.js";
import { executorIdOf } from "../tree/executor-id.js";
import type { JsonObject, JsonValue, Task, TaskError } from "../types.js";
import type { EventBus } from "./event-bus.js";
import type { Finisher } from "./finisher.js";
import { runAfterTaskHooks, runBeforeExecuteHooks, runAfterExecuteHooks, runBeforeTaskHooks } from "./hooks.js";
import { mergeDependencyResults } from "./merge.js";
import { planRetry } from "./retry.js";
import { parseWaitSpec, resumeStateOf, WaitRequest } from "../task/wait.js";

/** Why a running task's signal fired. */
export type AbortCause = "cancel" | "timeout" | "lease_lost" | "shutdown";

export interface RunningTask {
  taskId: string;
  leaseToken: string;
  /** When the lease was last known to be held (claim or renewal), in the engine's clock. */
  renewedAt: number;
  done: Promise<void>;
  abort(cause: AbortCause): void;
}

export interface RunContext {
  store: TaskStore;
  registry: Registry;
  bus: EventBus;
  logger: Logger;
  clock: () => Date;
  demo: boolean;
  cancelGraceMs: number;
  /** Per-execution secrets handed to executors (never persisted). */
  secretsFor(executionId: string): Record<string, string> | undefined;
  finisher: Finisher;
  /**
   * Called once the executor is done with the task, before its outcome is written: the slot is
   * free for the next task while the write (batched, durable before it is reported) is in flight.
   */
  release?: (run: TaskRun) => void;
  /** Called once the run is over (its outcome written, refused, or never written), before `done` settles. */
  settled?: (run: TaskRun) => void;
}

const NO_SECRETS: Readonly<Record<string, string>> = Object.freeze({});

class AbortedRun extends Error {
  readonly abortCause: AbortCause;

  constructor(cause: AbortCause) {
    super(`aborted: ${cause}`);
    this.name = "AbortedRun";
    this.abortCause = cause;
  }
}

/**
 * One run of a claimed task: what the engine keeps of it (`RunningTask`) and its abort state. A
 * class, so that a run costs one object rather than a handful of closures (there is one per task).
 */
export class TaskRun implements RunningTask {
  readonly taskId: string;
  readonly leaseToken: string;
  renewedAt: number;
  done!: Promise<void>;
  /** Why the signal fired (null: it did not). */
  cause: AbortCause | null = null;
  /** Told when the signal fires (the wait on an executor's promise). */
  onAbort: ((cause: AbortCause) => void) | null = null;
  /** Whether the run gave its slot back (`RunContext.release`). */
  released = false;
  readonly abortion = new LazyAbort();

  constructor(claimed: ClaimedTask, renewedAt: number) {
    this.taskId = claimed.task.id;
    this.leaseToken = claimed.leaseToken;
    this.renewedAt = renewedAt;
  }

  abort(why: AbortCause): void {
    if (this.cause !== null) return;
    this.cause = why;
    this.abortion.abort(new AbortedRun(why));
    this.onAbort?.(why);
  }
}

/**
 * Run one claimed task to its end and write the outcome with its lease token. `claimedAt`: when
 * its lease was granted (the claim's `now`), otherwise the clock is read.
 */
export function runClaimedTask(claimed: ClaimedTask, rc: RunContext, claimedAt?: number): RunningTask {
  const taskRun = new TaskRun(claimed, claimedAt ?? rc.clock().getTime());
  let run: Promise<unknown>;
  try {
    run = execute(claimed, rc, taskRun);
  } catch (err) {
    run = Promise.reject(err);
  }
  taskRun.done = run.then(
    () => rc.settled?.(taskRun),
    (err: unknown) => {
      rc.logger.error({ err, taskId: claimed.task.id }, "task run crashed");
      rc.settled?.(taskRun);
    },
  );
  return taskRun;
}

/**
 * Run a claimed task. Not an async function: the common run (no hooks, demo or schemas, an
 * executor that returns at once) calls the executor and queues the outcome without suspending a
 * frame; everything else continues in `runGeneral` / `awaitExecutor`, as the run always did.
 */
function execute(claimed: ClaimedTask, rc: RunContext, taskRun: TaskRun): Promise<unknown> {
  const { task, leaseToken } = claimed;
  const signal = taskRun.abortion;
  const log = rc.logger.child({ taskId: task.id, rootId: task.rootId });
  // Outcomes go to the store in batches; afterTask hooks run once the outcome is written.
  const finish = (outcome: TaskOutcome): Promise<unknown> => {
    const hooked = rc.registry.getHooks("afterTask").length > 0;
    const afterWrite = hooked
      ? async (written: Task): Promise<void> => {
          if (written.status !== "pending" && written.status !== "waiting") {
            await runAfterTaskHooks(rc.registry, written, written.result, claimed.executionId, log);
          }
        }
      : undefined;
    // The outcome is queued before the slot is freed: its write goes out ahead of the claim for
    // the freed slot (both take the store's events lock), which shortens the time a finished
    // task is not yet recorded (a kill then would make it run again elsewhere).
    const written = rc.finisher.finish({ taskId: task.id, leaseToken, outcome }, afterWrite);
    rc.release?.(taskRun);
    return written;
  };

  const found = executorIdOf(task);
  if (found.error) return finish(failed(TaskErrorCode.InvalidInputs, found.error));
  if (found.id === null) return finish({ status: "completed", result: null });
  const executor = rc.registry.getExecutor(found.id);
  if (!executor) return finish(failed(TaskErrorCode.ExecutorNotFound, `executor not found: ${found.id}`));
  if (!rc.registry.isAllowed(found.id)) {
    return finish(failed(TaskErrorCode.ExecutorNotAllowed, `executor not allowed: ${found.id}`));
  }

  const declared = executor.inputJsonSchema
    ? executor.inputProperties
    : declaredProperties(task.schemas.inputSchema as JsonObject | undefined);
  const inputs = mergeDependencyResults(task.inputs, claimed.dependencies, declared);
  const demoRun = claimed.demo || rc.demo;
  const demo = demoRun && executor.runInDemo !== true;
  let lastProgress = task.progress;
  const resume = resumeStateOf(task);
  const ctx = new Context(signal);
  ctx.task = task;
  ctx.log = log;
  ctx.dependencies = claimed.dependencies;
  ctx.userId = task.userId;
  ctx.secrets = rc.secretsFor(claimed.executionId) ?? NO_SECRETS;
  ctx.executionId = claimed.executionId;
  ctx.attempt = task.attempt;
  ctx.demo = demoRun;
  ctx.lastCheckpoint = claimed.lastCheckpoint;
  ctx.registry = rc.registry;
  ctx.reportProgress = async (progress, message) => {
    if (taskRun.cause === "lease_lost") return;
    if (progress !== null) lastProgress = progress;
    try {
      const { events } = await rc.store.reportProgress(task.id, leaseToken, lastProgress, message, rc.clock());
      rc.bus.publish(events);
    } catch (err) {
      if (err instanceof LeaseLostError) taskRun.abort("lease_lost");
      else throw err;
    }
  };
  ctx.checkpoint = (state) => rc.store.saveCheckpoint(task.id, leaseToken, state);
  ctx.waitFor = waitFor;
  ctx.resumeInput = resume?.input;
  ctx.resume = resume;

  // What the later steps need, made only when there are later steps (not for the common run).
  const later = (): RunState => ({ task, leaseToken, executor, rc, log, taskRun, finish });
  const registry = rc.registry;
  if (
    !demo &&
    !executor.inputSchema &&
    !executor.outputSchema &&
    registry.getHooks("beforeTask").length === 0 &&
    registry.getHooks("beforeExecute").length === 0 &&
    registry.getHooks("afterExecute").length === 0
  ) {
    // The common run: the steps of `runGeneral` that apply, without suspending on a value at hand.
    let pending: unknown;
    try {
      task.inputs = inputs;
      pending = executor.execute(inputs, ctx);
    } catch (err) {
      return failRun(later(), err, false, null);
    }
    if (isThenable(pending)) {
      return awaitExecutor(later(), abortable(pending, task, executor, taskRun, rc.cancelGraceMs));
    }
    // A synchronous executor has finished already: nothing to time out or interrupt.
    const result = pending === undefined ? null : (pending as JsonValue);
    if (signal.aborted) return failRun(later(), signal.reason, true, result);
    return finish({ status: "completed", result });
  }
  return runGeneral(later(), claimed, inputs, declared, demo, ctx);
}

/** What the later steps of a run need. */
interface RunState {
  task: Task;
  leaseToken: string;
  executor: RegisteredExecutor;
  rc: RunContext;
  log: Logger;
  taskRun: TaskRun;
  finish: (outcome: TaskOutcome) => Promise<unknown>;
}

/** The executor's promise, then the completion (or the failure). */
async function awaitExecutor(run: RunState, pending: Promise<JsonValue | null>): Promise<unknown> {
  let result: JsonValue | null = null;
  let returned = false;
  try {
    result = await pending;
    returned = true;
    if (run.taskRun.abortion.aborted) throw run.taskRun.abortion.reason;
  } catch (err) {
    return failRun(run, err, returned, result);
  }
  return run.finish({ status: "completed", result });
}

/** Every step: hooks, schemas, demo mode, the executor. */
async function runGeneral(
  run: RunState,
  claimed: ClaimedTask,
  inputs: JsonObject,
  declared: readonly string[],
  demo: boolean,
  ctx: ExecutorContext,
): Promise<unknown> {
  const { task, leaseToken, executor, rc, log, taskRun } = run;
  const signal = taskRun.abortion;
  let result: JsonValue | null = null;
  let returned = false;
  try {
    if (rc.registry.getHooks("beforeTask").length > 0) {
      // Hooks see and change the task's own inputs; dependency results are merged afterwards,
      // so what is persisted never freezes this run's results into the next run (docs/semantics.md#what-we-do-not-repeat).
      const hookInputs = await runBeforeTaskHooks(rc.registry, task, task.inputs, claimed.executionId, log);
      if (hookInputs !== task.inputs) {
        await rc.store.saveInputs(task.id, leaseToken, hookInputs);
        task.inputs = hookInputs;
        inputs = mergeDependencyResults(hookInputs, claimed.dependencies, declared);
      }
    }
    if (executor.inputSchema) {
      const check = checkSchema<JsonObject>(
        executor.inputSchema as Parameters<typeof checkSchema>[0],
        inputs,
        "inputs",
      );
      if (!check.ok) {
        throw new TaskFailure(
          TaskErrorCode.InvalidInputs,
          `invalid inputs: ${check.issues[0]?.path}: ${check.issues[0]?.message}`,
          {
            details: { errors: check.issues.map((i) => ({ ...i })) },
            retryable: false,
          },
        );
      }
      inputs = check.value;
    }
    task.inputs = inputs;
    const shortCut =
      rc.registry.getHooks("beforeExecute").length > 0
        ? await runBeforeExecuteHooks(rc.registry, executor.id, inputs, ctx, log)
        : undefined;
    if (shortCut !== undefined) {
      result = shortCut;
    } else if (demo) {
      result = await runDemo(executor, inputs, task, signal);
    } else {
      result = await runWithAbort(executor, inputs, ctx, task, taskRun, rc.cancelGraceMs);
    }
    returned = true;
    if (signal.aborted) throw signal.reason;
    if (executor.outputSchema) {
      const check = checkSchema(executor.outputSchema as Parameters<typeof checkSchema>[0], result, "result");
      if (!check.ok) {
        throw new TaskFailure(
          TaskErrorCode.InvalidOutput,
          `invalid output: ${check.issues[0]?.path}: ${check.issues[0]?.message}`,
          {
            details: { errors: check.issues.map((i) => ({ ...i })) },
            retryable: false,
          },
        );
      }
    }
    if (rc.registry.getHooks("afterExecute").length > 0) {
      result = await runAfterExecuteHooks(rc.registry, executor.id, result, ctx, log);
    }
  } catch (err) {
    return failRun(run, err, returned, result);
  }
  return run.finish({ status: "completed", result });
}

/** The run threw (or was aborted): the outcome that follows from why. */
async function failRun(run: RunState, err: unknown, returned: boolean, result: JsonValue | null): Promise<unknown> {
  const { task, executor, rc, log, finish } = run;
  const cause = run.taskRun.cause;
  if (cause === "lease_lost") {
    log.warn("lease lost: the task is someone else's now; writing nothing");
    return;
  }
  if (cause === "cancel") {
    const partial = returned ? result : partialResultOf(err);
    return finish(partial === undefined ? { status: "cancelled" } : { status: "cancelled", result: partial });
  }
  if (cause === "shutdown") {
    return finish({
      status: "failed",
      error: { code: "SHUTDOWN", message: "the engine stopped; the task is handed back" },
      retryAt: rc.clock(),
    });
  }
  if (err instanceof WaitRequest && cause === null) return finish({ status: "waiting", wait: err.spec });
  const error = cause === "timeout" ? timeoutError(task, executor) : toTaskError(err);
  const now = rc.clock();
  const policy = task.retry ?? executor.retry ?? null;
  const retry = planRetry({
    policy,
    attempt: task.attempt,
    error,
    thrown: err,
    now,
    registry: rc.registry,
    ...(policy?.maxElapsedMs !== undefined ? { firstStartedAt: await firstStart(rc.store, task) } : {}),
  });
  if (retry) log.info({ attempt: task.attempt, delayMs: retry.delayMs, code: error.code }, "task will be retried");
  return finish(retry ? { status: "failed", error, retryAt: retry.retryAt } : { status: "failed", error });
}

/**
 * Run the executor; settle early when the signal fires and the executor does not return: at
 * once for a timeout or lost lease, after the grace period for a cancellation.
 */
function runWithAbort(
  executor: RegisteredExecutor,
  inputs: JsonObject,
  ctx: ExecutorContext,
  task: Task,
  taskRun: TaskRun,
  cancelGraceMs: number,
): JsonValue | null | Promise<JsonValue | null> {
  const pending = executor.execute(inputs, ctx);
  // A synchronous executor has finished already: nothing to time out or interrupt.
  if (!isThenable(pending)) return pending === undefined ? null : pending;
  return abortable(pending, task, executor, taskRun, cancelGraceMs);
}

/** An executor's promise that settles early when the signal fires (see `runWithAbort`). */
function abortable(
  pending: Promise<JsonValue>,
  task: Task,
  executor: RegisteredExecutor,
  taskRun: TaskRun,
  cancelGraceMs: number,
): Promise<JsonValue | null> {
  const signal = taskRun.abortion;
  const timeoutMs = timeoutOf(task, executor);
  return new Promise<JsonValue | null>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    let grace: NodeJS.Timeout | undefined;
    const settle = (fn: () => void): void => {
      if (timer) clearTimeout(timer);
      if (grace) clearTimeout(grace);
      fn();
    };
    if (timeoutMs !== null) timer = setTimeout(() => taskRun.abort("timeout"), timeoutMs);
    taskRun.onAbort = (cause) => {
      if (cause === "cancel" || cause === "shutdown") {
        grace = setTimeout(() => settle(() => reject(signal.reason)), cancelGraceMs);
      } else {
        settle(() => reject(signal.reason));
      }
    };
    pending.then(
      (value) => settle(() => resolve(value === undefined ? null : value)),
      (err: unknown) => settle(() => reject(err)),
    );
  });
}

function isThenable(value: unknown): value is Promise<JsonValue> {
  return value !== null && typeof value === "object" && typeof (value as { then?: unknown }).then === "function";
}

async function runDemo(
  executor: RegisteredExecutor,
  inputs: JsonObject,
  task: Task,
  abortion: LazyAbort,
): Promise<JsonValue> {
  const delay = typeof task.params.demoDelayMs === "number" ? task.params.demoDelayMs : (executor.demoDelayMs ?? 0);
  if (delay > 0) {
    const signal = abortion.signal;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(resolve, delay);
      signal.addEventListener(
        "abort",
        () => {
          clearTimeout(timer);
          reject(signal.reason);
        },
        { once: true },
      );
    });
  }
  const demo = executor.demoResult;
  if (typeof demo === "function") return (demo as (i: JsonObject) => JsonValue)(inputs);
  return demo === undefined ? { demo: true, executorId: executor.id } : demo;
}

function timeoutOf(task: Task, executor: RegisteredExecutor): number | null {
  const fromTask = task.params.timeoutMs;
  if (typeof fromTask === "number" && fromTask > 0) return fromTask;
  return executor.timeoutMs && executor.timeoutMs > 0 ? executor.timeoutMs : null;
}

function timeoutError(task: Task, executor: RegisteredExecutor): TaskError {
  return { code: TaskErrorCode.Timeout, message: `timed out after ${timeoutOf(task, executor)} ms` };
}

function failed(code: string, message: string): TaskOutcome {
  return { status: "failed", error: { code, message } };
}

/** An executor may throw `TaskFailure` with `details.partialResult` when it is cancelled. */
function partialResultOf(err: unknown): JsonValue | undefined {
  if (err instanceof TaskFailure && err.details && typeof err.details === "object" && !Array.isArray(err.details)) {
    const partial = (err.details as JsonObject).partialResult;
    return partial === undefined ? undefined : partial;
  }
  return undefined;
}

async function firstStart(store: TaskStore, task: Task): Promise<Date> {
  const attempts = await store.getAttempts(task.id);
  const first = attempts[0]?.startedAt ?? task.startedAt ?? task.createdAt;
  return new Date(first);
}

const waitFor = (spec: Parameters<ExecutorContext["waitFor"]>[0]): never => {
  throw new WaitRequest(parseWaitSpec(spec));
};

/**
 * The context an executor gets. A class, not an object literal: a literal with the lazy `signal`
 * getter is slow to create (V8 defines the accessor at run time), and there is one per task run.
 * Every other member is an own property, as it was on the literal.
 */
class Context implements ExecutorContext {
  readonly #abortion: LazyAbort;
  task!: Task;
  log!: Logger;
  dependencies!: ExecutorContext["dependencies"];
  userId!: string | null;
  secrets!: Readonly<Record<string, string>>;
  executionId!: string;
  attempt!: number;
  demo!: boolean;
  lastCheckpoint!: JsonValue | null;
  registry!: ExecutorContext["registry"];
  reportProgress!: ExecutorContext["reportProgress"];
  checkpoint!: ExecutorContext["checkpoint"];
  waitFor!: ExecutorContext["waitFor"];
  resumeInput!: JsonValue | undefined;
  resume!: ExecutorContext["resume"];

  constructor(abortion: LazyAbort) {
    this.#abortion = abortion;
  }

  get signal(): AbortSignal {
    return this.#abortion.signal;
  }
}

/**
 * An abort signal created on first use: most executors never look at theirs, and an
 * AbortController per task is measurable on the engine's hot path.
 */
class LazyAbort {
  private controller: AbortController | null = null;
  aborted = false;
  reason: unknown = undefined;

  get signal(): AbortSignal {
    if (this.controller === null) {
      this.controller = new AbortController();
      if (this.aborted) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  abort(reason: unknown): void {
    if (this.aborted) return;
    this.aborted = true;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
