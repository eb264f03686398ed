import { ApflowError, ErrorCode, NotFoundError } from "../errors.js";
import type { TaskStore } from "../store/types.js";
import type { Execution, JsonValue, NewTask, Task, TaskEvent, TreeOutcome } from "../types.js";
import { checkIdempotencyKey, type IdempotencyGuard } from "./guard.js";
import { claimUniqueTree, takeUniqueSpecs } from "./unique.js";

/** What `engine.create` answers: the trees, and how they came about. */
export interface CreateOutcome {
  /** One list of tasks per root, in the order of the request's roots. */
  trees: Task[][];
  rootIds: string[];
  /** Roots that were not created because a tree with the same `uniqueKey` holds it. */
  existing: string[];
  /** True when this is a repeat of an earlier request with the same idempotency key. */
  replayed: boolean;
}

/** Who the idempotency key belongs to (the caller), and the key. */
export interface KeyOptions {
  idempotencyKey?: string;
  /** Whose key space `idempotencyKey` is in (default: `userId`): the caller, when an admin acts for another user. */
  keyOwner?: string | null;
  userId?: string | null;
}

/** The parts of the engine the guarded calls use. */
export interface GuardedCalls {
  store: TaskStore;
  guard: IdempotencyGuard | null;
  clock(): Date;
  validate(tasks: unknown): NewTask[][];
  save(trees: NewTask[][]): Promise<Task[][]>;
  wait(executionId: string): Promise<TreeOutcome>;
  subscribe(query: {
    executionId: string;
    rootId: string;
    afterSeq: number;
    signal?: AbortSignal;
  }): AsyncGenerator<TaskEvent>;
}

export interface HandleLike {
  execution: Execution;
  done: Promise<TreeOutcome>;
  events(options?: { afterSeq?: number; signal?: AbortSignal }): AsyncGenerator<TaskEvent>;
  replayed?: boolean;
}

function guardOf(calls: GuardedCalls, what: string): IdempotencyGuard {
  if (!calls.guard) {
    throw new ApflowError(
      ErrorCode.InvalidParams,
      `this store does not support ${what} (it has no idempotency facet)`,
      {
        errors: [{ path: what, code: "unsupported", message: `this store does not support ${what}` }],
      },
    );
  }
  return calls.guard;
}

const keyOwnerOf = (options: KeyOptions): string | null =>
  options.keyOwner !== undefined ? options.keyOwner : (options.userId ?? null);

/** Create trees: once per idempotency key, and not while a tree with the same `uniqueKey` holds it. */
export async function createOnce(
  calls: GuardedCalls,
  tasks: unknown,
  options: KeyOptions & { allowFinishedTasks?: boolean },
  mode: "single" | "many",
): Promise<CreateOutcome> {
  if (options.idempotencyKey === undefined) return createUnique(calls, tasks);
  const key = checkIdempotencyKey(options.idempotencyKey);
  const params = {
    tasks: tasks as JsonValue,
    mode,
    userId: options.userId ?? null,
    allowFinishedTasks: options.allowFinishedTasks ?? false,
  };
  const { value } = await guardOf(calls, "idempotencyKey").once(
    keyOwnerOf(options),
    key,
    "create",
    params,
    async () => {
      const outcome = await createUnique(calls, tasks);
      return { value: outcome, response: { rootIds: outcome.rootIds, existing: outcome.existing } };
    },
    async (response) => {
      const { rootIds, existing } = response as { rootIds: string[]; existing: string[] };
      return { trees: await readTrees(calls.store, rootIds), rootIds, existing, replayed: true };
    },
  );
  return value;
}

async function createUnique(calls: GuardedCalls, tasks: unknown): Promise<CreateOutcome> {
  const { tasks: plain, specs } = takeUniqueSpecs(tasks);
  const trees = calls.validate(plain);
  const rootIds = trees.map((t) => (t[0] as NewTask).rootId);
  if (specs.size === 0) return { trees: await calls.save(trees), rootIds, existing: [], replayed: false };
  const idempotency = guardOf(calls, "uniqueKey").store;
  const now = calls.clock();
  const holders = new Map<number, string>();
  const claimed: Array<{ owner: string | null; uniqueKey: string; rootId: string }> = [];
  const release = () =>
    Promise.allSettled(claimed.map((c) => idempotency.releaseUnique(c.owner, c.uniqueKey, c.rootId)));
  try {
    for (const [index, spec] of specs) {
      const root = trees[index]?.[0];
      if (!root) continue;
      const holder = await claimUniqueTree(idempotency, calls.store, root.userId, spec, root.rootId, now);
      if (holder === null) claimed.push({ owner: root.userId, uniqueKey: spec.uniqueKey, rootId: root.rootId });
      else holders.set(index, holder);
    }
    const fresh = trees.filter((_t, i) => !holders.has(i));
    const saved = fresh.length > 0 ? await calls.save(fresh) : [];
    const byRoot = new Map(saved.map((t) => [(t[0] as Task).rootId, t]));
    const outRoots = trees.map((t, i) => holders.get(i) ?? (t[0] as NewTask).rootId);
    const existing = [...holders.values()];
    const out: Task[][] = [];
    for (const id of outRoots) out.push(byRoot.get(id) ?? (await readHeldTree(calls.store, id)));
    return { trees: out, rootIds: outRoots, existing: [...new Set(existing)], replayed: false };
  } catch (err) {
    await release();
    throw err;
  }
}

/**
 * The tree another request holds a unique key for. That request reserves the key before it writes
 * its tree, so the tree may not be committed yet: wait for it (bounded) rather than answer
 * "not found" for a tree that is about to exist.
 */
async function readHeldTree(store: TaskStore, rootId: string, waitMs = 30_000): Promise<Task[]> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const tree = await store.getTree(rootId);
    if (tree.length > 0) return tree;
    if (Date.now() >= deadline) {
      throw new ApflowError(
        ErrorCode.Unavailable,
        `the tree holding this uniqueKey (${rootId}) is still being created: retry the request`,
        { errors: [{ path: "uniqueKey", code: "unique_tree_in_progress", message: "still being created" }] },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function readTrees(store: TaskStore, rootIds: string[]): Promise<Task[][]> {
  const trees: Task[][] = [];
  for (const id of rootIds) {
    const tree = await store.getTree(id);
    if (tree.length === 0) throw new NotFoundError("task", id);
    trees.push(tree);
  }
  return trees;
}

/** Start an execution once per idempotency key; a repeat gets a handle on the first one's execution. */
export async function executeOnce(
  calls: GuardedCalls,
  taskId: string,
  options: KeyOptions & { rerun?: "failed" | "all"; demo?: boolean },
  start: () => Promise<HandleLike>,
): Promise<HandleLike> {
  const key = checkIdempotencyKey(options.idempotencyKey);
  const params = { taskId, rerun: options.rerun ?? "failed", demo: options.demo ?? null };
  const { value } = await guardOf(calls, "idempotencyKey").once(
    keyOwnerOf(options),
    key,
    "execute",
    params,
    async () => {
      const handle = await start();
      return {
        value: handle,
        response: { executionId: handle.execution.id, rootId: handle.execution.rootId },
      };
    },
    async (response) => {
      const { executionId } = response as { executionId: string };
      const execution = await calls.store.getExecution(executionId);
      if (!execution) throw new NotFoundError("execution", executionId);
      return handleFor(calls, execution);
    },
  );
  return value;
}

/** A handle on an execution that exists already (a repeat of the request that started it). */
export function handleFor(calls: GuardedCalls, execution: Execution): HandleLike {
  const done = calls.wait(execution.id);
  done.catch(() => {});
  return {
    execution,
    done,
    replayed: true,
    events: (opts = {}) =>
      calls.subscribe({
        executionId: execution.id,
        rootId: execution.rootId,
        afterSeq: opts.afterSeq ?? 0,
        ...(opts.signal ? { signal: opts.signal } : {}),
      }),
  };
}

/** Store a copy once per idempotency key; a repeat gets the first copy's tree. */
export async function copyOnce(
  calls: GuardedCalls,
  taskId: string,
  options: KeyOptions & Record<string, unknown>,
  copy: () => Promise<Task[]>,
): Promise<Task[]> {
  const key = checkIdempotencyKey(options.idempotencyKey);
  const { idempotencyKey: _k, keyOwner: _o, ...params } = options;
  const { value } = await guardOf(calls, "idempotencyKey").once(
    keyOwnerOf(options),
    key,
    "copy",
    { taskId, ...params },
    async () => {
      const tasks = await copy();
      return { value: tasks, response: { rootId: (tasks[0] as Task).rootId } };
    },
    async (response) => (await readTrees(calls.store, [(response as { rootId: string }).rootId]))[0] as Task[],
  );
  return value;
}
