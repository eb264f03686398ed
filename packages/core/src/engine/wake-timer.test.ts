import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { silentLogger } from "../logger.js";
import { DUE_READ_GAP_MS, WakeTimer } from "./wake-timer.js";

const T0 = Date.parse("2030-01-01T00:00:00.000Z");

/** `answers`: what the store's reads return, in turn (null after them). */
function timer(answers: Array<Date | null> = []) {
  const wakes: number[] = [];
  const reads: number[] = [];
  const wake = new WakeTimer({
    clock: () => new Date(),
    pollIntervalMs: 1000,
    nextDue: async (now) => {
      reads.push(now.getTime() - T0);
      return answers.shift() ?? null;
    },
    wake: () => wakes.push(Date.now() - T0),
    logger: silentLogger,
  });
  wake.start();
  return { wake, wakes, reads };
}

describe("WakeTimer (fake timers)", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("keeps the earliest time: an earlier one re-arms, a later one is ignored, one past the poll is the poll's", async () => {
    const { wake, wakes } = timer();
    wake.at(T0 + 500);
    wake.at(T0 + 700);
    wake.at(T0 + 300);
    wake.at(T0 + 5000);
    await vi.advanceTimersByTimeAsync(2000);
    expect(wakes).toEqual([300]);
  });

  it("reads the store after a short claim once, until something invalidates what it read", async () => {
    const { wake, wakes, reads } = timer([new Date(T0 + 400)]);
    wake.shortClaim();
    await vi.advanceTimersByTimeAsync(10);
    wake.shortClaim();
    wake.shortClaim();
    expect(reads).toEqual([0]);
    await vi.advanceTimersByTimeAsync(400);
    expect(wakes).toEqual([400]);
    // The wake-up itself invalidates: the claim after it reads the next due time.
    wake.shortClaim();
    expect(reads).toEqual([0, 410]);
    // Invalidated while that read is in flight: it reads again, once the gap since the last read is over.
    wake.invalidate();
    wake.shortClaim();
    expect(reads).toEqual([0, 410]);
    await vi.advanceTimersByTimeAsync(DUE_READ_GAP_MS - 1);
    expect(wakes).toEqual([400]);
    // The gap over, it claims again (a wake-up); the short claim after it reads.
    await vi.advanceTimersByTimeAsync(1);
    expect(wakes).toEqual([400, 410 + DUE_READ_GAP_MS]);
    wake.shortClaim();
    expect(reads).toEqual([0, 410, 410 + DUE_READ_GAP_MS]);
  });

  it("reads at most every DUE_READ_GAP_MS however often it is invalidated", async () => {
    const { wake, reads } = timer();
    for (let i = 0; i < 50; i++) {
      wake.invalidate();
      wake.shortClaim();
      await vi.advanceTimersByTimeAsync(10);
    }
    // 500 ms of short claims every 10 ms, each after an invalidation: reads at 0, 200 and 400 ms.
    expect(reads).toEqual([0, DUE_READ_GAP_MS, 2 * DUE_READ_GAP_MS]);
  });

  it("does nothing once stopped", async () => {
    const { wake, wakes, reads } = timer([new Date(T0 + 100)]);
    wake.at(T0 + 100);
    wake.stop();
    wake.shortClaim();
    wake.at(T0 + 50);
    await vi.advanceTimersByTimeAsync(1000);
    expect(wakes).toEqual([]);
    expect(reads).toEqual([]);
  });
});
