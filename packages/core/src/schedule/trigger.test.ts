import { describe, expect, it } from "vitest";
import { ValidationError } from "../errors.js";
import { dueFirings, nextFireAfter, parseScheduleTiming, type ScheduleTiming } from "./trigger.js";

const at = (iso: string) => new Date(iso);

function issuesOf(value: unknown): Array<{ path: string; message: string }> {
  try {
    parseScheduleTiming(value, "params");
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as ValidationError).errors.map(({ path, message }) => ({ path, message }));
  }
  throw new Error("expected a validation error");
}

describe("parseScheduleTiming", () => {
  it("accepts each trigger type", () => {
    expect(
      parseScheduleTiming({ trigger: { type: "cron", expression: "*/5 * * * *", timezone: "Europe/Paris" } }),
    ).toBeTruthy();
    expect(parseScheduleTiming({ trigger: { type: "cron", expression: "0 */5 * * * *" } })).toBeTruthy();
    expect(parseScheduleTiming({ trigger: { type: "interval", everyMs: 60_000 }, catchUp: "all" })).toBeTruthy();
    expect(parseScheduleTiming({ trigger: { type: "once", at: "2027-01-01T00:00:00Z" } })).toBeTruthy();
  });

  it("names the field of a bad cron expression, an unknown time zone and endAt before startAt", () => {
    expect(issuesOf({ trigger: { type: "cron", expression: "61 * * * *" } })).toEqual([
      { path: "params.trigger.expression", message: expect.stringContaining("invalid cron expression") },
    ]);
    expect(issuesOf({ trigger: { type: "cron", expression: "* * *" } })[0]?.path).toBe("params.trigger.expression");
    expect(issuesOf({ trigger: { type: "cron", expression: "* * * * *", timezone: "Mars/Olympus" } })).toEqual([
      { path: "params.trigger.timezone", message: 'unknown time zone "Mars/Olympus"' },
    ]);
    expect(
      issuesOf({
        trigger: { type: "interval", everyMs: 60_000 },
        startAt: "2027-01-02T00:00:00Z",
        endAt: "2027-01-01T00:00:00Z",
      }),
    ).toEqual([{ path: "params.endAt", message: "endAt must be after startAt" }]);
    expect(issuesOf({ trigger: { type: "interval", everyMs: 10 } })[0]?.path).toBe("params.trigger.everyMs");
    expect(issuesOf({ trigger: { type: "weekly" } })[0]?.path).toBe("params.trigger.type");
  });
});

describe("nextFireAfter", () => {
  it("cron follows the time zone", () => {
    const trigger = { type: "cron" as const, expression: "0 9 * * *", timezone: "America/New_York" };
    // 09:00 in New York in January is 14:00 UTC.
    expect(nextFireAfter(trigger, at("2027-01-10T12:00:00Z"), at("2027-01-01T00:00:00Z"))?.toISOString()).toBe(
      "2027-01-10T14:00:00.000Z",
    );
  });

  it("an interval keeps its rate from the anchor however late it is asked (no drift)", () => {
    const trigger = { type: "interval" as const, everyMs: 60_000 };
    const anchor = at("2027-01-01T00:00:00Z");
    expect(nextFireAfter(trigger, at("2027-01-01T00:05:59.900Z"), anchor)?.toISOString()).toBe(
      "2027-01-01T00:06:00.000Z",
    );
    expect(nextFireAfter(trigger, at("2027-01-01T00:06:00.000Z"), anchor)?.toISOString()).toBe(
      "2027-01-01T00:07:00.000Z",
    );
    expect(nextFireAfter(trigger, at("2026-12-31T00:00:00Z"), anchor)?.toISOString()).toBe(anchor.toISOString());
  });

  it("once fires once", () => {
    const trigger = { type: "once" as const, at: "2027-01-01T00:00:00Z" };
    expect(nextFireAfter(trigger, at("2026-12-31T00:00:00Z"), at("2026-01-01T00:00:00Z"))?.toISOString()).toBe(
      "2027-01-01T00:00:00.000Z",
    );
    expect(nextFireAfter(trigger, at("2027-01-01T00:00:00Z"), at("2026-01-01T00:00:00Z"))).toBeNull();
  });
});

describe("dueFirings", () => {
  const createdAt = at("2027-01-01T00:00:00Z");
  const every = (catchUp: ScheduleTiming["catchUp"], extra: Partial<ScheduleTiming> = {}): ScheduleTiming => ({
    trigger: { type: "interval", everyMs: 60_000 },
    catchUp,
    ...extra,
  });

  it("fires what is due on time and says when it fires next", () => {
    // Without a startAt an interval's first run is one period after the creation.
    expect(dueFirings(every("one"), { lastFireAt: null, runs: 0, createdAt, now: createdAt }).fire).toEqual([]);
    const due = dueFirings(every("one"), { lastFireAt: null, runs: 0, createdAt, now: at("2027-01-01T00:01:01Z") });
    expect(due.fire.map((d) => d.toISOString())).toEqual(["2027-01-01T00:01:00.000Z"]);
    expect(due.nextFireAt?.toISOString()).toBe("2027-01-01T00:02:00.000Z");
    expect(due.lastDue?.toISOString()).toBe("2027-01-01T00:01:00.000Z");
    // With a startAt, the first run is at startAt.
    const started = dueFirings(every("one", { startAt: "2027-01-01T00:00:00Z" }), {
      lastFireAt: null,
      runs: 0,
      createdAt,
      now: at("2027-01-01T00:00:01Z"),
    });
    expect(started.fire.map((d) => d.toISOString())).toEqual(["2027-01-01T00:00:00.000Z"]);
    const later = dueFirings(every("one"), {
      lastFireAt: due.fire[0] as Date,
      runs: 1,
      createdAt,
      now: at("2027-01-01T00:01:30Z"),
    });
    expect(later.fire).toEqual([]);
  });

  it("applies catchUp to the firings missed while nothing ran", () => {
    const missed = { lastFireAt: at("2027-01-01T00:00:00Z"), runs: 1, createdAt, now: at("2027-01-01T00:10:30Z") };
    expect(dueFirings(every("all"), missed).fire).toHaveLength(10);
    const one = dueFirings(every("one"), missed);
    expect(one.fire.map((d) => d.toISOString())).toEqual(["2027-01-01T00:10:00.000Z"]);
    expect(one.skipped).toBe(9);
    // With none, only a firing that is still on time fires (00:10 is 30 s late: within 60 s).
    expect(dueFirings(every("none"), missed).fire.map((d) => d.toISOString())).toEqual(["2027-01-01T00:10:00.000Z"]);
    expect(dueFirings(every("none"), { ...missed, onTimeMs: 10_000 }).fire).toEqual([]);
  });

  it("stops at endAt and maxRuns", () => {
    const ended = dueFirings(every("all", { endAt: "2027-01-01T00:02:30Z" }), {
      lastFireAt: null,
      runs: 0,
      createdAt,
      now: at("2027-01-01T01:00:00Z"),
    });
    expect(ended.fire.map((d) => d.toISOString())).toEqual(["2027-01-01T00:01:00.000Z", "2027-01-01T00:02:00.000Z"]);
    expect(ended.nextFireAt).toBeNull();
    const capped = dueFirings(every("all", { maxRuns: 2 }), {
      lastFireAt: null,
      runs: 0,
      createdAt,
      now: at("2027-01-01T00:05:00Z"),
    });
    expect(capped.fire).toHaveLength(2);
    expect(capped.nextFireAt).toBeNull();
    expect(
      dueFirings(every("all", { maxRuns: 2 }), {
        lastFireAt: null,
        runs: 2,
        createdAt,
        now: at("2027-01-02T00:00:00Z"),
      }),
    ).toEqual({ fire: [], skipped: 0, nextFireAt: null, lastDue: null });
  });

  it("nothing fires before startAt", () => {
    const due = dueFirings(every("all", { startAt: "2027-01-01T00:30:00Z" }), {
      lastFireAt: null,
      runs: 0,
      createdAt,
      now: at("2027-01-01T00:29:00Z"),
    });
    expect(due.fire).toEqual([]);
    expect(due.nextFireAt?.toISOString()).toBe("2027-01-01T00:30:00.000Z");
  });
});
