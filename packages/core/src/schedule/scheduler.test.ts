import { afterEach, describe, expect, it, vi } from "vitest";
import { Engine } from "../engine/engine.js";
import { type ApflowError, ErrorCode, ValidationError } from "../errors.js";
import { defineExecutor } from "../registry/define.js";
import { Registry } from "../registry/registry.js";
import { MemoryStore } from "../store/memory-store.js";
import { ManualClock } from "../testing/fault-store.js";
import type { JsonValue } from "../types.js";
import { Scheduler } from "./scheduler.js";
import { firingTaskId } from "./schedules.js";

const T0 = new Date("2030-01-01T00:00:00.000Z");
const at = (ms: number) => new Date(T0.getTime() + ms).toISOString();
const MIN = 60_000;

const engines: Engine[] = [];
const schedulers: Scheduler[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const s of schedulers.splice(0)) await s.stop();
  for (const e of engines.splice(0)) await e.stop({ graceMs: 0 });
});

/** An engine on a MemoryStore with a manual clock, `echo` and a `gate` executor the test releases. */
function setup(options: { clock?: () => Date; store?: MemoryStore } = {}) {
  const manual = new ManualClock(T0);
  const clock = options.clock ?? manual.now;
  const registry = new Registry();
  const gates: Array<() => void> = [];
  registry.registerExecutor(defineExecutor({ id: "echo", execute: (inputs) => inputs as JsonValue }));
  registry.registerExecutor(
    defineExecutor({
      id: "gate",
      cancelable: true,
      execute: (_inputs, ctx) =>
        new Promise<JsonValue>((resolve) => {
          gates.push(() => resolve({ released: true }));
          ctx.signal.addEventListener("abort", () => resolve({ aborted: true }), { once: true });
        }),
    }),
  );
  const store = options.store ?? new MemoryStore();
  const engine = new Engine({ store, registry, clock, pollIntervalMs: 20 });
  engines.push(engine);
  const scheduler = new Scheduler({ engine, clock });
  schedulers.push(scheduler);
  const release = () => {
    for (const g of gates.splice(0)) g();
  };
  return { engine, scheduler, store, clock: manual, release, registry };
}

const echoTree = [
  { name: "root", params: { executorId: "aggregate_results" }, dependencies: ["step"] },
  { name: "step", parentId: "root", params: { executorId: "echo" }, inputs: { hello: "world" } },
];
const gateTree = [{ name: "slow", params: { executorId: "gate" } }];

describe("Scheduler", () => {
  it("interval: a fixed rate counted from creation, however late the passes are (no drift)", async () => {
    const { scheduler, clock, engine } = setup();
    const s = await scheduler.create({
      name: "every minute",
      tasks: echoTree,
      trigger: { type: "interval", everyMs: MIN },
    });
    expect(s.nextFireAt).toBe(at(MIN));
    clock.set(new Date(T0.getTime() + MIN + 700));
    const first = await scheduler.tick();
    expect(first.fired.map((f) => f.fireAt)).toEqual([at(MIN)]);
    expect(first.nextFireAt?.toISOString()).toBe(at(2 * MIN));
    clock.set(new Date(T0.getTime() + 2 * MIN + 2300));
    const second = await scheduler.tick();
    expect(second.fired.map((f) => f.fireAt)).toEqual([at(2 * MIN)]);
    expect((await scheduler.tick()).fired).toEqual([]);
    // Each firing is a fresh copy of the template, linked to the schedule and its fire time.
    const fired = first.fired[0];
    expect(fired?.rootId).toBe(firingTaskId(s.id, new Date(at(MIN)), 0));
    const outcome = await engine.wait(fired?.executionId as string);
    expect(outcome.status).toBe("completed");
    const root = outcome.tasks.find((t) => t.name === "root");
    expect(root?.metadata.schedule).toEqual({ scheduleId: s.id, scheduleName: "every minute", fireAt: at(MIN) });
    expect(outcome.tasks.find((t) => t.name === "step")?.inputs).toEqual({ hello: "world" });
    await engine.wait(second.fired[0]?.executionId as string);
    const { runs } = await scheduler.runs(s.id);
    expect(runs).toEqual([
      { fireAt: at(2 * MIN), rootId: second.fired[0]?.rootId, status: "completed", manual: false },
      { fireAt: at(MIN), rootId: fired?.rootId, status: "completed", manual: false },
    ]);
    expect((await scheduler.get(s.id)).nextFireAt).toBe(at(3 * MIN));
  });

  it("cron: fires at the expression's times in its time zone", async () => {
    const { scheduler, clock } = setup();
    const s = await scheduler.create({
      name: "nine in New York",
      tasks: echoTree,
      trigger: { type: "cron", expression: "0 9 * * *", timezone: "America/New_York" },
    });
    // 09:00 in New York in January is 14:00 UTC.
    expect(s.nextFireAt).toBe("2030-01-01T14:00:00.000Z");
    clock.set(new Date("2030-01-01T13:59:59.000Z"));
    expect((await scheduler.tick()).fired).toEqual([]);
    clock.set(new Date("2030-01-01T14:00:00.400Z"));
    expect((await scheduler.tick()).fired.map((f) => f.fireAt)).toEqual(["2030-01-01T14:00:00.000Z"]);
    expect((await scheduler.get(s.id)).nextFireAt).toBe("2030-01-02T14:00:00.000Z");
  });

  it("once: fires one time at its instant, then never again", async () => {
    const { scheduler, clock } = setup();
    const s = await scheduler.create({ name: "once", tasks: echoTree, trigger: { type: "once", at: at(10_000) } });
    clock.set(new Date(at(5000)));
    expect((await scheduler.tick()).fired).toEqual([]);
    clock.set(new Date(at(11_000)));
    expect((await scheduler.tick()).fired.map((f) => f.fireAt)).toEqual([at(10_000)]);
    clock.set(new Date(at(100_000)));
    expect((await scheduler.tick()).fired).toEqual([]);
    expect((await scheduler.get(s.id)).nextFireAt).toBeNull();
  });

  it("catchUp after a missed window: one fires the latest, all fires each, none fires only on-time ones", async () => {
    const { scheduler, clock } = setup();
    const trigger = { type: "interval", everyMs: MIN };
    const one = await scheduler.create({ name: "one", tasks: echoTree, trigger });
    const all = await scheduler.create({ name: "all", tasks: echoTree, trigger, catchUp: "all" });
    const none = await scheduler.create({ name: "none", tasks: echoTree, trigger, catchUp: "none" });
    // Nothing ran for 10.5 minutes.
    clock.set(new Date(T0.getTime() + 10 * MIN + 30_000));
    const report = await new Scheduler({ engine: scheduler.engine, clock: clock.now, onTimeMs: 10_000 }).tick();
    const times = (id: string) => report.fired.filter((f) => f.scheduleId === id).map((f) => f.fireAt);
    expect(times(one.id)).toEqual([at(10 * MIN)]);
    expect(times(all.id)).toEqual(Array.from({ length: 10 }, (_, i) => at((i + 1) * MIN)));
    expect(times(none.id)).toEqual([]);
    // Passed-over times are not considered again: the next pass fires nothing, and each
    // schedule's next time is the next minute.
    expect((await scheduler.tick()).fired).toEqual([]);
    for (const s of [one, all, none]) expect((await scheduler.get(s.id)).nextFireAt).toBe(at(11 * MIN));
    expect((await scheduler.runs(none.id)).runs).toEqual([]);
  });

  it("maxRuns and endAt end a schedule", async () => {
    const { scheduler, clock } = setup();
    const trigger = { type: "interval", everyMs: MIN };
    const capped = await scheduler.create({ name: "twice", tasks: echoTree, trigger, maxRuns: 2 });
    const ending = await scheduler.create({
      name: "until 2.5 min",
      tasks: echoTree,
      trigger,
      catchUp: "all",
      endAt: at(2 * MIN + 30_000),
    });
    const fired: string[] = [];
    for (let m = 1; m <= 4; m++) {
      clock.set(new Date(T0.getTime() + m * MIN));
      for (const f of (await scheduler.tick()).fired)
        fired.push(`${f.scheduleId === capped.id ? "capped" : "ending"}@${m}`);
    }
    expect(fired.sort()).toEqual(["capped@1", "capped@2", "ending@1", "ending@2"]);
    expect((await scheduler.get(capped.id)).nextFireAt).toBeNull();
    expect((await scheduler.get(ending.id)).nextFireAt).toBeNull();
    expect((await scheduler.runs(capped.id)).runs).toHaveLength(2);
  });

  it("overlap skip: a fire time while the previous run is unfinished is recorded as skipped", async () => {
    const { scheduler, clock, engine, release } = setup();
    const s = await scheduler.create({
      name: "skip",
      tasks: gateTree,
      trigger: { type: "interval", everyMs: MIN },
      overlap: "skip",
    });
    clock.set(new Date(at(MIN)));
    const [first] = (await scheduler.tick()).fired;
    clock.set(new Date(at(2 * MIN)));
    const second = await scheduler.tick();
    expect(second.fired).toEqual([]);
    expect(second.skipped).toEqual([{ scheduleId: s.id, fireAt: at(2 * MIN) }]);
    await vi.waitFor(() => release() ?? expect(engine.activeCount).toBe(0), { timeout: 5000, interval: 10 });
    await engine.wait(first?.executionId as string);
    clock.set(new Date(at(3 * MIN)));
    const third = await scheduler.tick();
    expect(third.fired.map((f) => f.fireAt)).toEqual([at(3 * MIN)]);
    const { runs } = await scheduler.runs(s.id);
    expect(runs.map((r) => [r.fireAt, r.status])).toEqual([
      [at(3 * MIN), "running"],
      [at(2 * MIN), "skipped"],
      [at(MIN), "completed"],
    ]);
    // Skipped firings do not count as runs.
    expect((await scheduler.get(s.id)).runs).toBe(2);
  });

  it("overlap queue: the fire time waits for the previous run, then starts", async () => {
    const { scheduler, clock, engine, release } = setup();
    const s = await scheduler.create({
      name: "queue",
      tasks: gateTree,
      trigger: { type: "interval", everyMs: MIN },
      overlap: "queue",
    });
    clock.set(new Date(at(MIN)));
    const [first] = (await scheduler.tick()).fired;
    clock.set(new Date(at(2 * MIN)));
    expect((await scheduler.tick()).queued).toEqual([{ scheduleId: s.id, fireAt: at(2 * MIN) }]);
    clock.set(new Date(at(2 * MIN + 1000)));
    expect((await scheduler.tick()).fired).toEqual([]);
    expect((await scheduler.runs(s.id)).runs.map((r) => r.status)).toEqual(["queued", "running"]);
    await vi.waitFor(() => release() ?? expect(engine.activeCount).toBe(0), { timeout: 5000, interval: 10 });
    await engine.wait(first?.executionId as string);
    const drained = await scheduler.tick();
    expect(drained.fired.map((f) => f.fireAt)).toEqual([at(2 * MIN)]);
    expect(drained.fired[0]?.rootId).toBe(firingTaskId(s.id, new Date(at(2 * MIN)), 0));
    expect((await scheduler.runs(s.id)).runs.map((r) => [r.fireAt, r.status])).toEqual([
      [at(2 * MIN), "running"],
      [at(MIN), "completed"],
    ]);
    // A second pass does not start the drained run again.
    expect((await scheduler.tick()).fired).toEqual([]);
  });

  it("overlap allow: fires while the previous run is unfinished", async () => {
    const { scheduler, clock } = setup();
    const s = await scheduler.create({ name: "allow", tasks: gateTree, trigger: { type: "interval", everyMs: MIN } });
    clock.set(new Date(at(MIN)));
    expect((await scheduler.tick()).fired).toHaveLength(1);
    clock.set(new Date(at(2 * MIN)));
    expect((await scheduler.tick()).fired).toHaveLength(1);
    expect((await scheduler.runs(s.id)).runs.map((r) => r.status)).toEqual(["running", "running"]);
  });

  it("two schedulers on one store fire each fire time once", async () => {
    const { scheduler, clock, engine } = setup();
    const other = new Scheduler({ engine, clock: clock.now });
    const s = await scheduler.create({ name: "twice", tasks: echoTree, trigger: { type: "interval", everyMs: MIN } });
    for (let m = 1; m <= 3; m++) {
      clock.set(new Date(at(m * MIN)));
      const [a, b] = await Promise.all([scheduler.tick(), other.tick()]);
      expect(a.fired.length + b.fired.length).toBe(1);
      expect(a.lost + b.lost).toBe(1);
    }
    expect((await scheduler.runs(s.id)).runs).toHaveLength(3);
  });

  it("a firing whose process died before starting its tree is started once it is stale", async () => {
    const { scheduler, clock, engine } = setup();
    const s = await scheduler.create({
      name: "crash",
      tasks: echoTree,
      trigger: { type: "interval", everyMs: 10 * MIN },
    });
    // Another process recorded the fire time, then died before creating the tree.
    const fireAt = new Date(at(10 * MIN));
    const rootId = firingTaskId(s.id, fireAt, 0);
    clock.set(fireAt);
    await scheduler.schedules.recordFiring({ scheduleId: s.id, fireAt, rootId, state: "firing", now: fireAt });
    clock.set(new Date(at(10 * MIN + 30_000)));
    expect((await scheduler.tick()).fired).toEqual([]);
    expect((await scheduler.runs(s.id)).runs.map((r) => r.status)).toEqual(["pending"]);
    clock.set(new Date(at(10 * MIN + 61_000)));
    const repaired = await scheduler.tick();
    expect(repaired.fired.map((f) => f.rootId)).toEqual([rootId]);
    expect((await engine.wait(repaired.fired[0]?.executionId as string)).status).toBe("completed");
    // Taken over once: the next pass leaves it alone.
    clock.set(new Date(at(10 * MIN + 62_000)));
    expect((await scheduler.tick()).fired).toEqual([]);
    expect((await scheduler.runs(s.id)).runs).toEqual([
      { fireAt: at(10 * MIN), rootId, status: "completed", manual: false },
    ]);
  });

  it("trigger fires now whatever the timing, without moving the cursor", async () => {
    const { scheduler, clock, engine } = setup();
    const s = await scheduler.create({ name: "manual", tasks: echoTree, trigger: { type: "interval", everyMs: MIN } });
    clock.set(new Date(at(10_000)));
    const fired = await scheduler.trigger(s.id);
    expect(fired.fireAt).toBe(at(10_000));
    expect((await engine.wait(fired.executionId as string)).status).toBe("completed");
    const again = await scheduler.trigger(s.id);
    expect(again.fireAt).toBe(at(10_001));
    expect((await scheduler.get(s.id)).nextFireAt).toBe(at(MIN));
    expect((await scheduler.runs(s.id)).runs.map((r) => r.manual)).toEqual([true, true]);
  });

  it("refuses bad input naming the field, and a template that is not a valid tree", async () => {
    const { scheduler } = setup();
    const issues = async (input: unknown) => {
      const err = await scheduler.create(input, { basePath: "params" }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ValidationError);
      expect((err as ApflowError).code).toBe(ErrorCode.InvalidParams);
      return (err as ValidationError).errors.map((e) => e.path);
    };
    const base = { name: "x", tasks: echoTree };
    expect(await issues({ ...base, trigger: { type: "cron", expression: "61 * * * *" } })).toEqual([
      "params.trigger.expression",
    ]);
    expect(
      await issues({ ...base, trigger: { type: "cron", expression: "* * * * *", timezone: "Mars/Olympus" } }),
    ).toEqual(["params.trigger.timezone"]);
    expect(
      await issues({
        ...base,
        trigger: { type: "interval", everyMs: MIN },
        startAt: "2030-02-01T00:00:00Z",
        endAt: "2030-01-01T00:00:00Z",
      }),
    ).toEqual(["params.endAt"]);
    const bad = await scheduler
      .create({
        name: "x",
        tasks: [{ name: "a", params: { executorId: "nope" } }],
        trigger: { type: "interval", everyMs: MIN },
      })
      .catch((e: unknown) => e);
    expect((bad as ApflowError).code).toBe(ErrorCode.ExecutorNotFound);
    expect(JSON.stringify((bad as ApflowError).data)).toContain("nope");
    expect((await scheduler.list()).total).toBe(0);
  });

  it("update: validates the merged timing; a new trigger counts from now; delete", async () => {
    const { scheduler, clock } = setup();
    const s = await scheduler.create({
      name: "u",
      tasks: echoTree,
      trigger: { type: "interval", everyMs: MIN },
      startAt: at(0),
    });
    const err = await scheduler.update(s.id, { endAt: at(-1000) }, { basePath: "params" }).catch((e: unknown) => e);
    expect((err as ValidationError).errors.map((e) => e.path)).toEqual(["params.endAt"]);
    clock.set(new Date(at(MIN)));
    await scheduler.tick();
    clock.set(new Date(at(10 * MIN + 5000)));
    const updated = await scheduler.update(s.id, { trigger: { type: "interval", everyMs: 5 * MIN }, name: "v" });
    expect(updated.name).toBe("v");
    // No catch-up of times the new trigger would have had before now.
    expect(updated.nextFireAt).toBe(at(15 * MIN));
    const disabled = await scheduler.update(s.id, { enabled: false });
    expect(disabled.nextFireAt).toBeNull();
    expect(await scheduler.delete(s.id)).toEqual({ deleted: true });
    await expect(scheduler.get(s.id)).rejects.toMatchObject({ code: ErrorCode.TaskNotFound });
  });

  it("the loop wakes at the next fire time (a timer, not a poll), with fake timers", async () => {
    vi.useFakeTimers({ now: T0 });
    const { scheduler, engine } = setup({ clock: () => new Date() });
    const s = await scheduler.create({ name: "timed", tasks: echoTree, trigger: { type: "interval", everyMs: MIN } });
    await scheduler.start();
    await vi.advanceTimersByTimeAsync(MIN - 1);
    expect((await scheduler.runs(s.id)).runs).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect((await scheduler.runs(s.id)).runs.map((r) => r.fireAt)).toEqual([at(MIN)]);
    await vi.advanceTimersByTimeAsync(2 * MIN);
    expect((await scheduler.runs(s.id)).runs.map((r) => r.fireAt)).toEqual([at(3 * MIN), at(2 * MIN), at(MIN)]);
    // Stop while the timers are fake (what the engine waits for runs in fake time).
    await scheduler.stop();
    const stopping = engine.stop({ graceMs: 0 });
    await vi.advanceTimersByTimeAsync(1000);
    await stopping;
  });
});
