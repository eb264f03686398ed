import type { ExecutorContext, Logger } from "@aipartnerupflow/core";
import { createExecutorContext } from "@aipartnerupflow/core/testing";

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
  const waiters: Array<() => void> = [];
  const ctx = createExecutorContext({
    task: { id: "t-1", name: "test" },
    executionId: "e-1",
    ...(overrides.log ? { log: overrides.log } : {}),
    onProgress: () => {
      for (const wake of waiters.splice(0)) wake();
    },
  });
  const progress = ctx.progress;
  const messages = () => progress.map((r) => r.message ?? "");
  return {
    ctx,
    controller: ctx.controller,
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
