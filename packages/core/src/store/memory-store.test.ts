import { describe, expect, it } from "vitest";
import { describeStoreContract, storeContractChecks } from "../testing.js";
import { MemoryStore } from "./memory-store.js";
import type { TaskOutcome } from "./types.js";

describeStoreContract("MemoryStore", () => new MemoryStore());

/** A store that ignores lease tokens: the contract must catch it. */
class TokenIgnoringStore extends MemoryStore {
  override async finishTask(taskId: string, _token: string, outcome: TaskOutcome, now: Date) {
    const task = await this.getTask(taskId);
    const attempts = await this.getAttempts(taskId);
    if (task?.status === "in_progress" && attempts.length > 0) {
      // Find the real token the way a careless implementation would: take whatever is there.
      const claimedToken = (this as unknown as { rows: Map<string, { leaseToken: string }> }).rows.get(
        taskId,
      )?.leaseToken;
      return super.finishTask(taskId, claimedToken as string, outcome, now);
    }
    return super.finishTask(taskId, _token, outcome, now);
  }
}

describe("the contract catches a broken store", () => {
  it("fails a store that ignores lease tokens", async () => {
    const failures: string[] = [];
    for (const check of storeContractChecks) {
      try {
        await check.run(new TokenIgnoringStore());
      } catch {
        failures.push(check.name);
      }
    }
    expect(failures).toContain("a stale or foreign lease token is refused and changes nothing");
    expect(failures).toContain("leases: renewal, expiry, reclaim by another owner, and the old token refused");
  });
});
