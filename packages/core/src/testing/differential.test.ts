import { describe, expect, it } from "vitest";
import { MemoryStore } from "../store/memory-store.js";
import type { TaskOutcome } from "../store/types.js";
import { describeDifferential } from "../testing.js";
import { DifferentialMismatch, runDifferential } from "./differential.js";

// The harness itself: two MemoryStores must never diverge (nothing random leaks into results).
describeDifferential("MemoryStore against itself", { subject: () => new MemoryStore(), sequences: 300 });

/** A store that forgets to cascade the error text of a failed outcome's dependents. */
class WrongRetryStore extends MemoryStore {
  override async finishTask(taskId: string, token: string, outcome: TaskOutcome, now: Date) {
    const changed: TaskOutcome =
      outcome.status === "failed" && outcome.retryAt ? { status: "failed", error: outcome.error } : outcome;
    return super.finishTask(taskId, token, changed, now);
  }
}

describe("the differential check", () => {
  it("catches a store that ignores retries and names the seed that replays it", async () => {
    const err = await runDifferential({ subject: () => new WrongRetryStore(), sequences: 300 }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(DifferentialMismatch);
    const mismatch = err as DifferentialMismatch;
    expect(mismatch.message).toContain(`APFLOW_DIFF_SEED=${mismatch.seed}`);
    expect(mismatch.operation).toBe("finishTask");
    // The seed replays the same divergence.
    const again = await runDifferential({ subject: () => new WrongRetryStore(), seed: mismatch.seed }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((again as DifferentialMismatch).step).toBe(mismatch.step);
  });
});
