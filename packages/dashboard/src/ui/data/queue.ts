import type { Task } from "./types.js";

export interface Quantiles {
  p50: number;
  p95: number;
  max: number;
}

export interface QueueTimings {
  /** Finished tasks the figures come from. */
  samples: number;
  /** Tasks finished per minute over the last `windowMs`. */
  perMinute: number;
  windowMs: number;
  /** Created → started. */
  wait: Quantiles | null;
  /** Started → finished. */
  run: Quantiles | null;
  /** Finished tasks per bucket of `bucketMs`, oldest first, ending now. */
  buckets: number[];
  bucketMs: number;
}

function quantiles(values: number[]): Quantiles | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
  return { p50: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] as number };
}

/**
 * Throughput and wait/run times from recently finished tasks (the API has no time-series
 * endpoint yet; `tasks.list` of the newest finished tasks is what exists).
 */
export function queueTimings(
  tasks: readonly Pick<Task, "createdAt" | "startedAt" | "completedAt">[],
  now: number,
  windowMs = 5 * 60_000,
  bucketCount = 30,
): QueueTimings {
  const done = tasks.filter((t) => t.startedAt && t.completedAt);
  const waits: number[] = [];
  const runs: number[] = [];
  const bucketMs = windowMs / bucketCount;
  const buckets = new Array<number>(bucketCount).fill(0);
  let inWindow = 0;
  for (const t of done) {
    const created = Date.parse(t.createdAt);
    const started = Date.parse(t.startedAt as string);
    const finished = Date.parse(t.completedAt as string);
    if (!Number.isNaN(created) && !Number.isNaN(started)) waits.push(Math.max(0, started - created));
    if (!Number.isNaN(started) && !Number.isNaN(finished)) runs.push(Math.max(0, finished - started));
    const age = now - finished;
    if (age >= 0 && age < windowMs) {
      inWindow++;
      const i = bucketCount - 1 - Math.floor(age / bucketMs);
      buckets[i] = (buckets[i] ?? 0) + 1;
    }
  }
  return {
    samples: done.length,
    perMinute: inWindow / (windowMs / 60_000),
    windowMs,
    wait: quantiles(waits),
    run: quantiles(runs),
    buckets,
    bucketMs,
  };
}
