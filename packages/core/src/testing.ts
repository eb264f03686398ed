import { afterEach, beforeEach, describe, it } from "vitest";
import { type StoreCheck, storeContractChecks } from "./store/contract.js";
import type { TaskStore } from "./store/types.js";
import { silentLogger } from "./logger.js";
import { Registry } from "./registry/registry.js";
import type { ExecutorContext } from "./registry/types.js";
import type { JsonValue, Task } from "./types.js";

export { storeContractChecks, type StoreCheck };

export interface StoreContractOptions {
  /** Called after each check with the store it used (close it, drop its database, ...). */
  dispose?: (store: TaskStore) => Promise<void>;
  /** Per-check timeout in ms (stores over a network may need more than vitest's default). */
  timeout?: number;
}

/**
 * Run the store contract as a vitest suite: every check gets a fresh store from `createStore`.
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
  describe(`TaskStore contract: ${name}`, () => {
    let store: TaskStore | undefined;
    beforeEach(async () => {
      store = await createStore();
    });
    afterEach(async () => {
      if (store) await (options.dispose ? options.dispose(store) : store.close());
      store = undefined;
    });
    for (const check of storeContractChecks) {
      it(check.name, () => check.run(store as TaskStore), options.timeout);
    }
  });
}

export interface TestContext extends ExecutorContext {
  /** Fire `signal` as a cancellation would. */
  abort(reason?: unknown): void;
  /** Every `reportProgress` call, in order. */
  progress: Array<{ progress: number | null; message: string | undefined }>;
  /** Every `checkpoint` call, in order. */
  checkpoints: JsonValue[];
}

/**
 * A real `ExecutorContext` for unit-testing an executor without an engine: a live AbortSignal,
 * recorded progress and checkpoints, and a task built from `overrides`.
 */
export function createExecutorContext(
  overrides: Partial<Omit<ExecutorContext, "task">> & { task?: Partial<Task> } = {},
): TestContext {
  const controller = new AbortController();
  const now = new Date().toISOString();
  const { task: taskOverrides, ...rest } = overrides;
  const task: Task = {
    id: "test-task",
    parentId: null,
    rootId: "test-task",
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
    ...taskOverrides,
  };
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
      progress.push({ progress: p, message });
    },
    checkpoint: async (state) => {
      checkpoints.push(state);
    },
    ...rest,
    abort: (reason) => controller.abort(reason),
    progress,
    checkpoints,
  };
}
