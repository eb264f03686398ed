import type { TaskStore } from "../store/types.js";

/** The operations of a `TaskStore` a fault can target. */
export type StoreOperation = Exclude<keyof TaskStore, "close">;

const OPERATIONS: readonly StoreOperation[] = [
  "createTasks",
  "startExecution",
  "nextDueAt",
  "claimReady",
  "finishTask",
  "finishTasks",
  "renewLeases",
  "reclaimExpired",
  "cancel",
  "resumeTask",
  "findWaiting",
  "expireWaits",
  "reportProgress",
  "saveInputs",
  "saveCheckpoint",
  "appendEvents",
  "readEvents",
  "getTask",
  "getTasks",
  "listTasks",
  "getTree",
  "getChildren",
  "countByStatus",
  "getAttempts",
  "getExecution",
  "listExecutions",
  "updateTask",
  "deleteTask",
];

/**
 * A fault for the `call`-th call of `operation` (1-based; default: the next call), and for the
 * `times - 1` calls after it (default 1; `Infinity` for every call from then on). Before the call
 * reaches the store it waits for `delay` (ms, or a promise such as a `gate()`'s), then throws
 * `fail` when given; otherwise it goes through.
 */
export interface StoreFault {
  operation: StoreOperation;
  call?: number;
  times?: number;
  fail?: Error | (() => Error);
  delay?: number | Promise<unknown> | (() => Promise<unknown>);
}

interface ArmedFault extends StoreFault {
  from: number;
  until: number;
}

/**
 * A `TaskStore` wrapper that fails or delays chosen calls of the store it wraps: for engine tests
 * of a database that errors, a claim still in flight, a renewal that never comes. Counts every
 * call (`calls(operation)`).
 *
 * ```ts
 * const store = new FaultInjectingStore(new MemoryStore());
 * store.inject({ operation: "renewLeases", times: Infinity, fail: new Error("database unreachable") });
 * ```
 */
export class FaultInjectingStore implements TaskStore {
  private readonly counts = new Map<StoreOperation, number>();
  private readonly faults: ArmedFault[] = [];

  constructor(
    readonly inner: TaskStore,
    faults: StoreFault[] = [],
  ) {
    for (const f of faults) this.inject(f);
    // Optional in the interface: present only when the wrapped store has it.
    const finishTasks = inner.finishTasks?.bind(inner);
    if (finishTasks) {
      this.finishTasks = (...args) => this.around("finishTasks", () => finishTasks(...args));
    }
    const nextDueAt = inner.nextDueAt?.bind(inner);
    if (nextDueAt) this.nextDueAt = (...args) => this.around("nextDueAt", () => nextDueAt(...args));
  }

  readonly finishTasks?: TaskStore["finishTasks"];
  readonly nextDueAt?: TaskStore["nextDueAt"];

  createTasks(...args: Parameters<TaskStore["createTasks"]>): ReturnType<TaskStore["createTasks"]> {
    return this.around("createTasks", () => this.inner.createTasks(...args)) as ReturnType<TaskStore["createTasks"]>;
  }

  startExecution(...args: Parameters<TaskStore["startExecution"]>): ReturnType<TaskStore["startExecution"]> {
    return this.around("startExecution", () => this.inner.startExecution(...args)) as ReturnType<
      TaskStore["startExecution"]
    >;
  }

  claimReady(...args: Parameters<TaskStore["claimReady"]>): ReturnType<TaskStore["claimReady"]> {
    return this.around("claimReady", () => this.inner.claimReady(...args)) as ReturnType<TaskStore["claimReady"]>;
  }

  finishTask(...args: Parameters<TaskStore["finishTask"]>): ReturnType<TaskStore["finishTask"]> {
    return this.around("finishTask", () => this.inner.finishTask(...args)) as ReturnType<TaskStore["finishTask"]>;
  }

  renewLeases(...args: Parameters<TaskStore["renewLeases"]>): ReturnType<TaskStore["renewLeases"]> {
    return this.around("renewLeases", () => this.inner.renewLeases(...args)) as ReturnType<TaskStore["renewLeases"]>;
  }

  reclaimExpired(...args: Parameters<TaskStore["reclaimExpired"]>): ReturnType<TaskStore["reclaimExpired"]> {
    return this.around("reclaimExpired", () => this.inner.reclaimExpired(...args)) as ReturnType<
      TaskStore["reclaimExpired"]
    >;
  }

  resumeTask(...args: Parameters<TaskStore["resumeTask"]>): ReturnType<TaskStore["resumeTask"]> {
    return this.around("resumeTask", () => this.inner.resumeTask(...args)) as ReturnType<TaskStore["resumeTask"]>;
  }

  findWaiting(...args: Parameters<TaskStore["findWaiting"]>): ReturnType<TaskStore["findWaiting"]> {
    return this.around("findWaiting", () => this.inner.findWaiting(...args)) as ReturnType<TaskStore["findWaiting"]>;
  }

  expireWaits(...args: Parameters<TaskStore["expireWaits"]>): ReturnType<TaskStore["expireWaits"]> {
    return this.around("expireWaits", () => this.inner.expireWaits(...args)) as ReturnType<TaskStore["expireWaits"]>;
  }

  cancel(...args: Parameters<TaskStore["cancel"]>): ReturnType<TaskStore["cancel"]> {
    return this.around("cancel", () => this.inner.cancel(...args)) as ReturnType<TaskStore["cancel"]>;
  }

  reportProgress(...args: Parameters<TaskStore["reportProgress"]>): ReturnType<TaskStore["reportProgress"]> {
    return this.around("reportProgress", () => this.inner.reportProgress(...args)) as ReturnType<
      TaskStore["reportProgress"]
    >;
  }

  saveInputs(...args: Parameters<TaskStore["saveInputs"]>): ReturnType<TaskStore["saveInputs"]> {
    return this.around("saveInputs", () => this.inner.saveInputs(...args)) as ReturnType<TaskStore["saveInputs"]>;
  }

  saveCheckpoint(...args: Parameters<TaskStore["saveCheckpoint"]>): ReturnType<TaskStore["saveCheckpoint"]> {
    return this.around("saveCheckpoint", () => this.inner.saveCheckpoint(...args)) as ReturnType<
      TaskStore["saveCheckpoint"]
    >;
  }

  appendEvents(...args: Parameters<TaskStore["appendEvents"]>): ReturnType<TaskStore["appendEvents"]> {
    return this.around("appendEvents", () => this.inner.appendEvents(...args)) as ReturnType<TaskStore["appendEvents"]>;
  }

  readEvents(...args: Parameters<TaskStore["readEvents"]>): ReturnType<TaskStore["readEvents"]> {
    return this.around("readEvents", () => this.inner.readEvents(...args)) as ReturnType<TaskStore["readEvents"]>;
  }

  getTask(...args: Parameters<TaskStore["getTask"]>): ReturnType<TaskStore["getTask"]> {
    return this.around("getTask", () => this.inner.getTask(...args)) as ReturnType<TaskStore["getTask"]>;
  }

  getTasks(...args: Parameters<TaskStore["getTasks"]>): ReturnType<TaskStore["getTasks"]> {
    return this.around("getTasks", () => this.inner.getTasks(...args)) as ReturnType<TaskStore["getTasks"]>;
  }

  listTasks(...args: Parameters<TaskStore["listTasks"]>): ReturnType<TaskStore["listTasks"]> {
    return this.around("listTasks", () => this.inner.listTasks(...args)) as ReturnType<TaskStore["listTasks"]>;
  }

  getTree(...args: Parameters<TaskStore["getTree"]>): ReturnType<TaskStore["getTree"]> {
    return this.around("getTree", () => this.inner.getTree(...args)) as ReturnType<TaskStore["getTree"]>;
  }

  getChildren(...args: Parameters<TaskStore["getChildren"]>): ReturnType<TaskStore["getChildren"]> {
    return this.around("getChildren", () => this.inner.getChildren(...args)) as ReturnType<TaskStore["getChildren"]>;
  }

  countByStatus(...args: Parameters<TaskStore["countByStatus"]>): ReturnType<TaskStore["countByStatus"]> {
    return this.around("countByStatus", () => this.inner.countByStatus(...args)) as ReturnType<
      TaskStore["countByStatus"]
    >;
  }

  getAttempts(...args: Parameters<TaskStore["getAttempts"]>): ReturnType<TaskStore["getAttempts"]> {
    return this.around("getAttempts", () => this.inner.getAttempts(...args)) as ReturnType<TaskStore["getAttempts"]>;
  }

  getExecution(...args: Parameters<TaskStore["getExecution"]>): ReturnType<TaskStore["getExecution"]> {
    return this.around("getExecution", () => this.inner.getExecution(...args)) as ReturnType<TaskStore["getExecution"]>;
  }

  listExecutions(...args: Parameters<TaskStore["listExecutions"]>): ReturnType<TaskStore["listExecutions"]> {
    return this.around("listExecutions", () => this.inner.listExecutions(...args)) as ReturnType<
      TaskStore["listExecutions"]
    >;
  }

  updateTask(...args: Parameters<TaskStore["updateTask"]>): ReturnType<TaskStore["updateTask"]> {
    return this.around("updateTask", () => this.inner.updateTask(...args)) as ReturnType<TaskStore["updateTask"]>;
  }

  deleteTask(...args: Parameters<TaskStore["deleteTask"]>): ReturnType<TaskStore["deleteTask"]> {
    return this.around("deleteTask", () => this.inner.deleteTask(...args)) as ReturnType<TaskStore["deleteTask"]>;
  }

  /** Arm a fault; `call` counts from the calls made so far (the next call is `calls + 1`). */
  inject(fault: StoreFault): this {
    if (!OPERATIONS.includes(fault.operation)) throw new Error(`not a store operation: ${String(fault.operation)}`);
    const from = fault.call ?? this.calls(fault.operation) + 1;
    if (!Number.isInteger(from) || from < 1) throw new Error(`fault call must be a positive integer, got ${from}`);
    const times = fault.times ?? 1;
    if (!(times >= 1)) throw new Error(`fault times must be at least 1, got ${times}`);
    this.faults.push({ ...fault, from, until: from + times - 1 });
    return this;
  }

  /** Disarm every fault (calls keep being counted). */
  clear(): void {
    this.faults.length = 0;
  }

  /** Calls of `operation` so far, faulted ones included. */
  calls(operation: StoreOperation): number {
    return this.counts.get(operation) ?? 0;
  }

  private async around<T>(operation: StoreOperation, call: () => Promise<T>): Promise<T> {
    const n = this.calls(operation) + 1;
    this.counts.set(operation, n);
    for (const fault of this.faults) {
      if (fault.operation !== operation || n < fault.from || n > fault.until) continue;
      if (fault.delay !== undefined) {
        const d = fault.delay;
        await (typeof d === "number" ? new Promise((r) => setTimeout(r, d)) : typeof d === "function" ? d() : d);
      }
      if (fault.fail !== undefined) throw typeof fault.fail === "function" ? fault.fail() : fault.fail;
    }
    return call();
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

/** A signal a test opens by hand: `await g.promise` waits until `g.open()`. */
export interface Gate {
  promise: Promise<void>;
  open(): void;
  readonly opened: boolean;
}

export function gate(): Gate {
  let open: () => void = () => {};
  let opened = false;
  const promise = new Promise<void>((resolve) => {
    open = () => {
      opened = true;
      resolve();
    };
  });
  return {
    promise,
    open: () => open(),
    get opened() {
      return opened;
    },
  };
}

/** A clock a test moves by hand, for `EngineOptions.clock`. */
export class ManualClock {
  private ms: number;

  constructor(start: Date | number = Date.parse("2030-01-01T00:00:00.000Z")) {
    this.ms = typeof start === "number" ? start : start.getTime();
  }

  /** The clock function the engine calls. */
  readonly now = (): Date => new Date(this.ms);

  advance(ms: number): Date {
    this.ms += ms;
    return this.now();
  }

  set(to: Date): void {
    this.ms = to.getTime();
  }
}
