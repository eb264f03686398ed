import { TaskErrorCode, TaskFailure } from "../errors.js";
import type { Registry } from "../registry/registry.js";
import type { RetryPolicy, TaskError } from "../types.js";

/** Failures no retry can mend: the same input would fail the same way. */
const NEVER_RETRIED: ReadonlySet<string> = new Set([
  TaskErrorCode.ExecutorNotFound,
  TaskErrorCode.ExecutorNotAllowed,
  TaskErrorCode.InvalidInputs,
  TaskErrorCode.InvalidOutput,
  TaskErrorCode.DependencyFailed,
  TaskErrorCode.Cancelled,
]);

export interface RetryDecision {
  retryAt: Date;
  delayMs: number;
}

/**
 * Decide whether a failed attempt runs again (docs/semantics.md#retry) and when. `attempt` is the attempt
 * that just failed (1-based); `firstStartedAt` bounds `maxElapsedMs`.
 */
export function planRetry(options: {
  policy: RetryPolicy | null | undefined;
  attempt: number;
  error: TaskError;
  thrown: unknown;
  now: Date;
  firstStartedAt?: Date;
  registry?: Registry;
  random?: () => number;
}): RetryDecision | null {
  const { policy, attempt, error, thrown, now } = options;
  if (!policy || attempt >= policy.maxAttempts) return null;
  if (thrown instanceof TaskFailure && !thrown.retryable) return null;
  if (NEVER_RETRIED.has(error.code)) return null;
  if (policy.retryOn && policy.retryOn.length > 0) {
    const name = thrown instanceof Error ? thrown.name : "";
    if (!policy.retryOn.includes(error.code) && !policy.retryOn.includes(name)) return null;
  }
  const delayMs = backoffDelay(policy, attempt, error, options.registry, options.random ?? Math.random);
  if (policy.maxElapsedMs !== undefined && options.firstStartedAt) {
    const elapsed = now.getTime() + delayMs - options.firstStartedAt.getTime();
    if (elapsed > policy.maxElapsedMs) return null;
  }
  return { retryAt: new Date(now.getTime() + delayMs), delayMs };
}

/** The wait before attempt `attempt + 1`. */
export function backoffDelay(
  policy: RetryPolicy,
  attempt: number,
  error: TaskError,
  registry: Registry | undefined,
  random: () => number = Math.random,
): number {
  const backoff = policy.backoff ?? { type: "fixed", delayMs: 1000 };
  const base = backoff.delayMs ?? 1000;
  let delay: number;
  switch (backoff.type) {
    case "fixed":
      delay = base;
      break;
    case "exponential":
      delay = base * (backoff.factor ?? 2) ** (attempt - 1);
      break;
    case "custom": {
      const fn = backoff.name ? registry?.getBackoff(backoff.name) : undefined;
      delay = fn ? fn(attempt, error) : base;
      break;
    }
  }
  if (backoff.maxDelayMs !== undefined) delay = Math.min(delay, backoff.maxDelayMs);
  if (backoff.jitter) delay = delay / 2 + random() * (delay / 2);
  return Math.max(0, Math.round(delay));
}
