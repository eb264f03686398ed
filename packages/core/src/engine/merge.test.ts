import { describe, expect, it } from "vitest";
import type { DependencyResult } from "../types.js";
import { mergeDependencyResults } from "./merge.js";
import { backoffDelay, planRetry } from "./retry.js";
import { Registry } from "../registry/registry.js";
import { NonRetryableError } from "../errors.js";

const dep = (
  name: string,
  result: DependencyResult["result"],
  status: DependencyResult["status"] = "completed",
  id = `${name}-id`,
): DependencyResult => ({
  id,
  name,
  status,
  required: true,
  result,
});

describe("mergeDependencyResults", () => {
  it("places whole results under the dependency name without declared inputs", () => {
    expect(mergeDependencyResults({ own: 1 }, [dep("a", { x: 1 }), dep("b", null)], [])).toEqual({
      own: 1,
      a: { x: 1 },
      b: null,
    });
  });
  it("falls back to ids when names repeat, and skips tasks that did not complete", () => {
    expect(
      mergeDependencyResults(
        {},
        [dep("a", 1, "completed", "i1"), dep("a", 2, "completed", "i2"), dep("z", 3, "failed")],
        [],
      ),
    ).toEqual({
      i1: 1,
      i2: 2,
    });
  });
  it("fills declared properties from object results, first dependency wins, own inputs kept", () => {
    expect(
      mergeDependencyResults(
        { keep: "mine" },
        [dep("a", { url: "u1", keep: "theirs", extra: 1 }), dep("b", { url: "u2", size: 3 })],
        ["url", "size", "keep"],
      ),
    ).toEqual({ keep: "mine", url: "u1", size: 3 });
  });
});

describe("retry planning", () => {
  const error = { code: "FLAKY", message: "x" };
  const now = new Date(0);
  it("stops after maxAttempts and for non-retryable failures", () => {
    expect(planRetry({ policy: { maxAttempts: 2 }, attempt: 1, error, thrown: new Error(), now })?.retryAt).toEqual(
      new Date(1000),
    );
    expect(planRetry({ policy: { maxAttempts: 2 }, attempt: 2, error, thrown: new Error(), now })).toBeNull();
    expect(
      planRetry({ policy: { maxAttempts: 5 }, attempt: 1, error, thrown: new NonRetryableError("no"), now }),
    ).toBeNull();
    expect(
      planRetry({
        policy: { maxAttempts: 5 },
        attempt: 1,
        error: { code: "INVALID_INPUTS", message: "" },
        thrown: null,
        now,
      }),
    ).toBeNull();
    expect(planRetry({ policy: null, attempt: 1, error, thrown: null, now })).toBeNull();
  });
  it("honours retryOn and maxElapsedMs", () => {
    const policy = { maxAttempts: 5, retryOn: ["TIMEOUT"], backoff: { type: "fixed" as const, delayMs: 10 } };
    expect(planRetry({ policy, attempt: 1, error, thrown: null, now })).toBeNull();
    expect(
      planRetry({ policy, attempt: 1, error: { code: "TIMEOUT", message: "" }, thrown: null, now }),
    ).not.toBeNull();
    const bounded = { maxAttempts: 5, maxElapsedMs: 100, backoff: { type: "fixed" as const, delayMs: 50 } };
    expect(
      planRetry({ policy: bounded, attempt: 1, error, thrown: null, now: new Date(60), firstStartedAt: new Date(0) }),
    ).toBeNull();
  });
  it("computes fixed, exponential (capped, jittered) and custom delays", () => {
    expect(
      backoffDelay({ maxAttempts: 9, backoff: { type: "exponential", delayMs: 100, factor: 3 } }, 3, error, undefined),
    ).toBe(900);
    expect(
      backoffDelay(
        { maxAttempts: 9, backoff: { type: "exponential", delayMs: 100, maxDelayMs: 250 } },
        5,
        error,
        undefined,
      ),
    ).toBe(250);
    expect(
      backoffDelay(
        { maxAttempts: 9, backoff: { type: "fixed", delayMs: 100, jitter: true } },
        1,
        error,
        undefined,
        () => 0,
      ),
    ).toBe(50);
    const r = new Registry().registerBackoff("linear", (attempt) => attempt * 7);
    expect(backoffDelay({ maxAttempts: 9, backoff: { type: "custom", name: "linear" } }, 4, error, r)).toBe(28);
  });
});
