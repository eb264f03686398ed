import { expect } from "vitest";
import { ErrorCode } from "../../errors.js";
import type { NewSchedule, ScheduleStore } from "../../schedule/store-types.js";
import { at, expectCode, T0 } from "./support.js";

/**
 * The schedules facet's contract (`store.schedules`): what every `ScheduleStore` must do. Run by
 * `describeScheduleStoreContract` in `@aipartnerupflow/core/testing`; each check gets a fresh store.
 */
export interface ScheduleStoreCheck {
  name: string;
  run(schedules: ScheduleStore): Promise<void>;
}

export function newSchedule(overrides: Partial<NewSchedule> = {}): NewSchedule {
  return {
    id: "s1",
    name: "nightly",
    userId: "u1",
    tasks: [
      { name: "root", inputs: { nested: { list: [1, "two", null] } } },
      { name: "child", parentId: "root" },
    ],
    trigger: { type: "cron", expression: "0 2 * * *", timezone: "Europe/Paris" },
    startAt: "2030-01-01T00:00:00.000Z",
    endAt: "2031-01-01T00:00:00.000Z",
    maxRuns: 10,
    enabled: true,
    catchUp: "one",
    overlap: "skip",
    ...overrides,
  };
}

export const scheduleContractChecks: ScheduleStoreCheck[] = [
  {
    name: "schedules: create, get, list with filters and paging, every field round-trips",
    async run(schedules) {
      const created = await schedules.createSchedule(newSchedule(), T0);
      expect(created).toEqual({
        ...newSchedule(),
        lastFireAt: null,
        runs: 0,
        createdAt: T0.toISOString(),
        updatedAt: T0.toISOString(),
      });
      expect(await schedules.getSchedule("s1")).toEqual(created);
      expect(await schedules.getSchedule("missing")).toBeNull();
      await schedules.createSchedule(
        newSchedule({
          id: "s2",
          userId: null,
          trigger: { type: "interval", everyMs: 60_000 },
          startAt: null,
          endAt: null,
          maxRuns: null,
          enabled: false,
          catchUp: "all",
          overlap: "queue",
        }),
        at(1),
      );
      await schedules.createSchedule(
        newSchedule({ id: "s3", trigger: { type: "once", at: "2030-02-01T00:00:00.000Z" } }),
        at(2),
      );
      const all = await schedules.listSchedules();
      expect(all.total).toBe(3);
      expect(all.schedules.map((s) => s.id)).toEqual(["s1", "s2", "s3"]);
      expect((await schedules.listSchedules({ userId: "u1" })).schedules.map((s) => s.id)).toEqual(["s1", "s3"]);
      expect((await schedules.listSchedules({ userId: null })).schedules.map((s) => s.id)).toEqual(["s2"]);
      expect((await schedules.listSchedules({ enabled: false })).schedules.map((s) => s.id)).toEqual(["s2"]);
      const page = await schedules.listSchedules({ limit: 1, offset: 1 });
      expect(page).toEqual({ schedules: [expect.objectContaining({ id: "s2", enabled: false })], total: 3 });
      expect((await schedules.getSchedule("s2"))?.trigger).toEqual({ type: "interval", everyMs: 60_000 });
    },
  },
  {
    name: "schedules: a taken id is refused; update patches fields; delete removes the schedule and its runs",
    async run(schedules) {
      await schedules.createSchedule(newSchedule(), T0);
      await expect(schedules.createSchedule(newSchedule({ name: "again" }), T0)).rejects.toThrow(/s1/);
      const updated = await schedules.updateSchedule(
        "s1",
        { name: "renamed", enabled: false, endAt: null, trigger: { type: "interval", everyMs: 5000 } },
        at(10),
      );
      expect(updated).toMatchObject({
        name: "renamed",
        enabled: false,
        endAt: null,
        startAt: "2030-01-01T00:00:00.000Z",
        trigger: { type: "interval", everyMs: 5000 },
        updatedAt: at(10).toISOString(),
        createdAt: T0.toISOString(),
      });
      await schedules.recordFiring({ scheduleId: "s1", fireAt: at(100), rootId: "r1", state: "firing", now: at(100) });
      const reset = await schedules.updateSchedule("s1", { resetLastFireAt: at(50).toISOString() }, at(200));
      expect(reset.lastFireAt).toBe(at(50).toISOString());
      expect(reset.runs).toBe(1);
      await expectCode(schedules.updateSchedule("missing", { name: "x" }, at(1)), ErrorCode.TaskNotFound);
      expect(await schedules.deleteSchedule("s1")).toBe(true);
      expect(await schedules.deleteSchedule("s1")).toBe(false);
      expect(await schedules.getSchedule("s1")).toBeNull();
      expect(await schedules.listRuns("s1")).toEqual([]);
      // A new schedule with the same id starts with no runs.
      await schedules.createSchedule(newSchedule(), at(300));
      expect(await schedules.listRuns("s1")).toEqual([]);
    },
  },
  {
    name: "recordFiring: at most once per (schedule, fire time), moving the cursor and counting runs",
    async run(schedules) {
      await schedules.createSchedule(newSchedule(), T0);
      const first = await schedules.recordFiring({
        scheduleId: "s1",
        fireAt: at(60_000),
        rootId: "root-1",
        state: "firing",
        now: at(60_010),
      });
      expect(first).toEqual({
        recorded: true,
        run: {
          scheduleId: "s1",
          fireAt: at(60_000).toISOString(),
          rootId: "root-1",
          state: "firing",
          manual: false,
          createdAt: at(60_010).toISOString(),
          updatedAt: at(60_010).toISOString(),
        },
      });
      const again = await schedules.recordFiring({
        scheduleId: "s1",
        fireAt: at(60_000),
        rootId: "root-other",
        state: "queued",
        now: at(60_020),
      });
      expect(again).toEqual({ recorded: false, run: first.run });
      let s = await schedules.getSchedule("s1");
      expect(s).toMatchObject({ lastFireAt: at(60_000).toISOString(), runs: 1 });
      // Skipped: moves the cursor, does not count as a run.
      await schedules.recordFiring({
        scheduleId: "s1",
        fireAt: at(120_000),
        rootId: null,
        state: "skipped",
        now: at(120_000),
      });
      // Queued: counts.
      await schedules.recordFiring({
        scheduleId: "s1",
        fireAt: at(180_000),
        rootId: "root-3",
        state: "queued",
        now: at(180_000),
      });
      s = await schedules.getSchedule("s1");
      expect(s).toMatchObject({ lastFireAt: at(180_000).toISOString(), runs: 2 });
      // An older fire time recorded late never moves the cursor back; manual runs never move it.
      await schedules.recordFiring({
        scheduleId: "s1",
        fireAt: at(30_000),
        rootId: "root-0",
        state: "firing",
        now: at(190_000),
      });
      await schedules.recordFiring({
        scheduleId: "s1",
        fireAt: at(500_000),
        rootId: "root-m",
        state: "firing",
        manual: true,
        now: at(500_000),
      });
      s = await schedules.getSchedule("s1");
      expect(s).toMatchObject({ lastFireAt: at(180_000).toISOString(), runs: 3 });
      const runs = await schedules.listRuns("s1");
      expect(runs.map((r) => [r.fireAt, r.state, r.manual])).toEqual([
        [at(500_000).toISOString(), "firing", true],
        [at(180_000).toISOString(), "queued", false],
        [at(120_000).toISOString(), "skipped", false],
        [at(60_000).toISOString(), "firing", false],
        [at(30_000).toISOString(), "firing", false],
      ]);
      expect((await schedules.listRuns("s1", { state: ["queued", "skipped"] })).map((r) => r.state)).toEqual([
        "queued",
        "skipped",
      ]);
      expect((await schedules.listRuns("s1", { limit: 2 })).length).toBe(2);
      await expectCode(
        schedules.recordFiring({ scheduleId: "missing", fireAt: at(1), rootId: null, state: "skipped", now: at(1) }),
        ErrorCode.TaskNotFound,
      );
    },
  },
  {
    name: "recordFiring: concurrent records of one fire time, exactly one goes in",
    async run(schedules) {
      await schedules.createSchedule(newSchedule(), T0);
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) =>
          schedules.recordFiring({
            scheduleId: "s1",
            fireAt: at(1000),
            rootId: `r${i}`,
            state: "firing",
            now: at(1000 + i),
          }),
        ),
      );
      expect(results.filter((r) => r.recorded).length).toBe(1);
      const winner = results.find((r) => r.recorded)?.run.rootId;
      for (const r of results) expect(r.run.rootId).toBe(winner);
      expect(await schedules.getSchedule("s1")).toMatchObject({ runs: 1, lastFireAt: at(1000).toISOString() });
    },
  },
  {
    name: "transitionRun: only from the expected state, one winner among concurrent callers",
    async run(schedules) {
      await schedules.createSchedule(newSchedule(), T0);
      await schedules.recordFiring({ scheduleId: "s1", fireAt: at(1000), rootId: "r", state: "queued", now: at(1000) });
      expect(await schedules.transitionRun("s1", at(1000), "firing", "started", at(1001))).toBe(false);
      const wins = await Promise.all(
        Array.from({ length: 6 }, () => schedules.transitionRun("s1", at(1000), "queued", "firing", at(1002))),
      );
      expect(wins.filter(Boolean).length).toBe(1);
      expect(await schedules.transitionRun("s1", at(1000), "firing", "started", at(1003))).toBe(true);
      const [run] = await schedules.listRuns("s1");
      expect(run).toMatchObject({ state: "started", rootId: "r", updatedAt: at(1003).toISOString() });
      expect(await schedules.transitionRun("s1", at(9999), "queued", "firing", at(1004))).toBe(false);
      expect(await schedules.transitionRun("missing", at(1000), "queued", "firing", at(1004))).toBe(false);
    },
  },
  {
    name: "advanceSchedule: moves lastFireAt forward only, without counting runs",
    async run(schedules) {
      await schedules.createSchedule(newSchedule(), T0);
      expect((await schedules.advanceSchedule("s1", at(5000), at(6000)))?.lastFireAt).toBe(at(5000).toISOString());
      expect((await schedules.advanceSchedule("s1", at(1000), at(7000)))?.lastFireAt).toBe(at(5000).toISOString());
      expect((await schedules.getSchedule("s1"))?.runs).toBe(0);
      expect(await schedules.advanceSchedule("missing", at(1), at(1))).toBeNull();
    },
  },
];
