import { parseWaitSpec, WaitRequest } from "./task/wait.js";
import { afterEach, beforeEach, describe, it } from "vitest";
import { silentLogger } from "./logger.js";
import { Registry } from "./registry/registry.js";
import type { ExecutorContext } from "./registry/types.js";
import type { TaskStore } from "./store/types.js";
import { type DifferentialOptions, runDifferential } from "./testing/differential.js";
import { STORE_FAMILIES, type StoreCheck, type StoreFamily, storeContractChecks } from "./testing/contract/index.js";
import type { JsonValue, Task } from "./types.js";
import { type QueueStatsCheck, queueStatsChecks } from "./testing/contract/queue-stats.js";
import { describeFacetContract, type FacetContractOptions } from "./testing/contract/facet-suite.js";
export { describeFacetContract, type FacetCheck, type FacetContractOptions } from "./testing/contract/facet-suite.js";

export { storeContractChecks, STORE_FAMILIES, type StoreCheck, type StoreFamily };
export {
  describeIdempotencyContract,
  idempotencyContractChecks,
  type IdempotencyCheck,
  type IdempotencyContractOptions,
} from "./testing/contract/idempotency.js";
export { queueStatsChecks, type QueueStatsCheck };
export { describeLimitsContract, limitsContractChecks, type LimitsCheck } from "./testing/contract/limits.js";

/** Run the queue-stats facet's contract (`queueStats`, see `QueueStatsReader`); every check gets a fresh store. */
export function describeQueueStatsContract(
  name: string,
  createStore: () => Promise<TaskStore> | TaskStore,
  options: FacetContractOptions = {},
): void {
  describeFacetContract(`queue stats contract: ${name}`, queueStatsChecks, createStore, options, (store) => store);
}
export {
  describeScheduleStoreContract,
  scheduleContractChecks,
  type ScheduleStoreCheck,
} from "./testing/schedule-contract.js";
export {
  describeA2aStateContract,
  a2aStateContractChecks,
  type A2aStateCheck,
  type A2aStateContractOptions,
} from "./testing/contract/a2a-state.js";
export {
  describeNodeStoreContract,
  nodeStoreContractChecks,
  registration as nodeRegistration,
  type NodeStoreCheck,
} from "./testing/contract/nodes.js";
export { describeEngineSuite, type EngineSuiteOptions } from "./testing/engine-suite.js";
export {
  FaultInjectingStore,
  type Gate,
  gate,
  ManualClock,
  type StoreFault,
  type StoreOperation,
} from "./testing/fault-store.js";
export {
  DifferentialMismatch,
  type DifferentialOptions,
  type DifferentialReport,
  runDifferential,
} from "./testing/differential.js";

export interface StoreContractOptions {
  /** Called after each check with the store it used (close it, drop its database, ...). */
  dispose?: (store: TaskStore) => Promise<void>;
  /** Per-check timeout in ms (stores over a network may need more than vitest's default). */
  timeout?: number;
  /**
   * Checks this store does not pass, by name, each with the reason (shown in the skipped test's
   * title). A name that is not a check, or an empty reason, is refused.
   */
  skip?: Record<string, string>;
}

/**
 * Run the store contract as a vitest suite, one `describe` per family of operations: every check
 * gets a fresh store from `createStore`.
 *
 * ```ts
 * import { describeStoreContract } from "@aipartnerupflow/core/testing";
 * describeStoreContract("my store", async () => new MyStore());
 * ```
 */
export function describeStoreContract(
  name: string,
  createStore: () => Promise<TaskStore> | TaskStore,
  options: StoreContractOptions = {},
): void {
  const skip = checkSkips(options.skip ?? {});
  describe(`TaskStore contract: ${name}`, () => {
    let store: TaskStore | undefined;
    beforeEach(async () => {
      store = await createStore();
    });
    afterEach(async () => {
      if (store) await (options.dispose ? options.dispose(store) : store.close());
      store = undefined;
    });
    for (const family of STORE_FAMILIES) {
      describe(family, () => {
        for (const check of storeContractChecks) {
          if (check.family !== family) continue;
          const reason = skip.get(check.name);
          if (reason !== undefined) it.skip(`${check.name} (skipped: ${reason})`, () => {});
          else it(check.name, () => check.run(store as TaskStore), options.timeout);
        }
      });
    }
  });
}

/**
 * The randomised differential check as one vitest test: `options.sequences` random sequences
 * (default 1000) on a reference store (MemoryStore) and on `options.subject`, every result and
 * event compared. A failure names the seed; `APFLOW_DIFF_SEED=<seed>` replays that sequence alone.
 */
export function describeDifferential(name: string, options: DifferentialOptions, timeout = 120_000): void {
  describe(`TaskStore differential: ${name}`, () => {
    it(
      "random operation sequences give the reference store's results and events",
      async () => {
        const report = await runDifferential(options);
        if (report.sequences === 0) throw new Error("no sequence ran");
      },
      timeout,
    );
  });
}

function checkSkips(skip: Record<string, string>): Map<string, string> {
  const known = new Set(storeContractChecks.map((c) => c.name));
  const out = new Map<string, string>();
  for (const [name, reason] of Object.entries(skip)) {
    if (!known.has(name)) throw new Error(`describeStoreContract: skip names no check: "${name}"`);
    if (typeof reason !== "string" || reason.trim() === "") {
      throw new Error(`describeStoreContract: skipping "${name}" needs a reason`);
    }
    out.set(name, reason);
  }
  return out;
}

/** A task in progress with every field set; `overrides` win. For tests of executors and renderers. */
export function createTask(overrides: Partial<Task> = {}): Task {
  const now = new Date().toISOString();
  return {
    id: "test-task",
    parentId: null,
    rootId: overrides.id ?? "test-task",
    userId: null,
    name: "test task",
    status: "in_progress",
    priority: 2,
    dependencies: [],
    inputs: {},
    params: {},
    schemas: {},
    result: null,
    error: null,
    progress: 0,
    attempt: 1,
    retry: null,
    runAt: null,
    originalTaskId: null,
    hasChildren: false,
    metadata: {},
    createdAt: now,
    updatedAt: now,
    startedAt: now,
    completedAt: null,
    wait: null,
    placement: null,
    placedOn: null,
    ...overrides,
  };
}

export interface TestContext extends ExecutorContext {
  controller: AbortController;
  /** Fire `signal` as a cancellation would. */
  abort(reason?: unknown): void;
  /** Every `reportProgress` call, in order. */
  progress: Array<{ progress: number | null; message: string | undefined }>;
  /** Every `checkpoint` call, in order. */
  checkpoints: JsonValue[];
}

export interface TestContextOptions extends Partial<Omit<ExecutorContext, "task" | "signal">> {
  task?: Partial<Task>;
  /** Use this controller's signal (default: a new one). */
  controller?: AbortController;
  /** Called after each recorded `reportProgress`. */
  onProgress?: (record: { progress: number | null; message: string | undefined }) => void;
}

/**
 * A real `ExecutorContext` for unit-testing an executor without an engine: a live AbortSignal,
 * recorded progress and checkpoints, and a task built from `options.task`.
 */
export function createExecutorContext(options: TestContextOptions = {}): TestContext {
  const { task: taskOverrides, controller = new AbortController(), onProgress, ...rest } = options;
  const task = createTask(taskOverrides);
  const progress: TestContext["progress"] = [];
  const checkpoints: JsonValue[] = [];
  return {
    task,
    signal: controller.signal,
    log: silentLogger,
    dependencies: [],
    userId: task.userId,
    secrets: {},
    executionId: "test-execution",
    attempt: task.attempt,
    demo: false,
    lastCheckpoint: null,
    registry: new Registry(),
    reportProgress: async (p, message) => {
      const record = { progress: p, message };
      progress.push(record);
      onProgress?.(record);
    },
    checkpoint: async (state) => {
      checkpoints.push(state);
    },
    waitFor: (spec) => {
      throw new WaitRequest(parseWaitSpec(spec));
    },
    resumeInput: undefined,
    resume: null,
    ...rest,
    controller,
    abort: (reason) => controller.abort(reason),
    progress,
    checkpoints,
  };
}
