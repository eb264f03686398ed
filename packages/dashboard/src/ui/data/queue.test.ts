import { describe, expect, it } from "vitest";
import { queueTimings } from "./queue.js";

const now = Date.parse("2026-01-01T00:10:00Z");
const at = (msBefore: number) => new Date(now - msBefore).toISOString();

describe("queueTimings", () => {
  it("gives throughput, wait and run quantiles, and a per-bucket count ending now", () => {
    const tasks = [
      // created 10 s ago, waited 1 s, ran 2 s, finished 7 s ago
      { createdAt: at(10_000), startedAt: at(9_000), completedAt: at(7_000) },
      { createdAt: at(10_000), startedAt: at(6_000), completedAt: at(5_000) },
      { createdAt: at(400_000), startedAt: at(399_000), completedAt: at(390_000) }, // outside 5 min
      { createdAt: at(1_000), startedAt: null, completedAt: null }, // not run: ignored
    ];
    const t = queueTimings(tasks, now, 300_000, 30);
    expect(t.samples).toBe(3);
    expect(t.perMinute).toBeCloseTo(2 / 5);
    expect(t.wait).toEqual({ p50: 1000, p95: 4000, max: 4000 });
    expect(t.run).toEqual({ p50: 2000, p95: 9000, max: 9000 });
    expect(t.buckets).toHaveLength(30);
    expect(t.buckets[29]).toBe(2); // both within the last 10 s bucket
    expect(t.buckets.reduce((a, b) => a + b, 0)).toBe(2);
  });

  it("says nothing it does not know", () => {
    const t = queueTimings([], now);
    expect(t).toMatchObject({ samples: 0, perMinute: 0, wait: null, run: null });
  });
});
