import { describe, expect, it } from "vitest";
import { STATUS_LOOK, formatAgo, formatDuration, formatPercent, formatTime } from "./format.js";
import { STATUSES } from "./types.js";

describe("format", () => {
  it("durations read naturally at every scale", () => {
    expect(formatDuration(null)).toBe("—");
    expect(formatDuration(850)).toBe("850 ms");
    expect(formatDuration(12_340)).toBe("12.3 s");
    expect(formatDuration(245_000)).toBe("4 m 05 s");
    expect(formatDuration(7_380_000)).toBe("2 h 03 m");
  });

  it("times, ages and percentages", () => {
    expect(formatTime(null)).toBe("—");
    expect(formatTime("not a time")).toBe("not a time");
    expect(formatTime("2026-01-02T03:04:05Z")).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    expect(formatAgo("2026-01-01T00:00:00Z", Date.parse("2026-01-01T00:00:03Z"))).toBe("3.0 s ago");
    expect(formatPercent(0.456)).toBe("46%");
    expect(formatPercent(7)).toBe("100%");
  });

  it("every status has its own icon and word, so colour is never alone", () => {
    const icons = new Set(STATUSES.map((s) => STATUS_LOOK[s].icon));
    const labels = new Set(STATUSES.map((s) => STATUS_LOOK[s].label));
    expect(icons.size).toBe(STATUSES.length);
    expect(labels.size).toBe(STATUSES.length);
  });
});
