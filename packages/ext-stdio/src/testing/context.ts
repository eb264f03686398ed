import { type ExecutorContext, type Logger, type Task, Registry, silentLogger } from "@aipartnerupflow/core";

/** One `reportProgress` call as the executor made it. */
export interface ProgressRecord {
  progress: number | null;
  message: string | undefined;
}

export interface TestContext {
  ctx: ExecutorContext;
  controller: AbortController;
  progress: ProgressRecord[];
  /** Messages only, in order. */
  messages(): string[];
  /** Resolves once a progress message satisfies `match` (or rejects after `timeoutMs`). */
  waitForMessage(match: (message: string) => boolean, timeoutMs?: number): Promise<string>;
}

/** A real `ExecutorContext` for calling `execute(inputs, ctx)` directly in tests. */
export function makeContext(overrides: { log?: Logger } = {}): TestContext {
  const controller = new AbortController();
  const progress: ProgressRecord[] = [];
  const waiters: Array<() => void> = [];
  const now = new Date().toISOString();
  const task: Task = {
    id: "t-1",
    parentId: null,
    rootId: "t-1",
    userId: null,
    name: "test",
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
  };
  const ctx: ExecutorContext = {
    task,
    signal: controller.signal,
    async reportProgress(p, message) {
      progress.push({ progress: p, message });
      for (const wake of waiters.splice(0)) wake();
    },
    log: overrides.log ?? silentLogger,
    dependencies: [],
    userId: null,
    secrets: {},
    executionId: "e-1",
    attempt: 1,
    demo: false,
    async checkpoint() {},
    lastCheckpoint: null,
    registry: new Registry(),
  };
  const messages = () => progress.map((r) => r.message ?? "");
  return {
    ctx,
    controller,
    progress,
    messages,
    waitForMessage(match, timeoutMs = 20_000) {
      return new Promise<string>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no progress message matched; got ${JSON.stringify(messages())}`)),
          timeoutMs,
        );
        const check = () => {
          const hit = messages().find(match);
          if (hit !== undefined) {
            clearTimeout(timer);
            resolve(hit);
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

/** Poll until `condition` holds (no timed assertions: the deadline only guards against hanging). */
export async function waitFor(condition: () => boolean, what: string, deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
