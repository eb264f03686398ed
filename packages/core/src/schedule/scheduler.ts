import { AlreadyExecutingError, ApflowError, ErrorCode, NotFoundError } from "../errors.js";
import type { Engine } from "../engine/engine.js";
import { type Logger, silentLogger } from "../logger.js";
import { validateTasks } from "../tree/validate.js";
import type { JsonValue, NewTask } from "../types.js";
import { newId } from "../util/ids.js";
import {
  instantiateTemplate,
  nextFireOf,
  parseScheduleInput,
  parseScheduleUpdate,
  runStatus,
  type ScheduleRunView,
  type ScheduleView,
  timingOf,
  viewOf,
} from "./schedules.js";
import {
  type Schedule,
  type SchedulePatch,
  type ScheduleQuery,
  type ScheduleStore,
  schedulesOf,
} from "./store-types.js";
import { dueFirings, parseScheduleTiming } from "./trigger.js";

export interface SchedulerOptions {
  /** The engine that runs the fired trees (its store, registry, bus and clock). */
  engine: Engine;
  /** The schedules facet; `engine.store.schedules` when omitted. */
  schedules?: ScheduleStore;
  /** The clock deciding fire times; the engine's when omitted (tests pass a fake one). */
  clock?: () => Date;
  /**
   * How often the store is re-read for schedules other processes created or changed, and for
   * queued runs whose previous run finished (default 5 s). Due fire times wake the loop at once.
   */
  refreshMs?: number;
  /** How late a fire time may be handled and still count as on time for `catchUp: "none"` (60 s). */
  onTimeMs?: number;
  /** How long a run may stay `firing` (its process died while creating it) before it no longer
   * counts as unfinished for `overlap` (default 60 s). */
  staleFiringMs?: number;
  logger?: Logger;
  /** Called for each tree this scheduler fired (metrics, tests). */
  onFire?: (fired: Fired) => void;
}

/** One tree a tick or a trigger started. */
export interface Fired {
  scheduleId: string;
  fireAt: string;
  rootId: string;
  executionId: string | null;
}

/** What one pass over the schedules did. */
export interface TickReport {
  fired: Fired[];
  queued: Array<{ scheduleId: string; fireAt: string }>;
  skipped: Array<{ scheduleId: string; fireAt: string }>;
  /** Fire times another process recorded first (this one did nothing for them). */
  lost: number;
  /** The earliest next fire time of all enabled schedules (null: none). */
  nextFireAt: Date | null;
}

const PAGE = 500;
/** A finished tree may release a queued run: look again within this (many trees finishing: one pass). */
const FINISHED_DEBOUNCE_MS = 250;

/**
 * Running loops per schedules facet: a change made through any `Scheduler` of this process (the
 * API's, say) wakes the loops on the same store at once instead of at their next refresh.
 */
const loops = new WeakMap<ScheduleStore, Set<Scheduler>>();

/**
 * Schedules (docs/architecture.md#how-a-schedule-fires): their operations and the firing loop. Started beside an engine (not
 * inside its claim loop), it wakes at the next due fire time — a timer, not a poll — and re-reads
 * the store every `refreshMs` for schedules other processes changed. Each due fire time is
 * recorded in the store under the (schedule, fire time) key first; only the process whose record
 * went in creates the tree (a copy of the template with ids derived from the schedule and the
 * fire time) and executes it, so several schedulers on one database fire each time at most once.
 */
export class Scheduler {
  readonly engine: Engine;
  readonly schedules: ScheduleStore;
  readonly refreshMs: number;
  readonly onTimeMs: number;
  readonly staleFiringMs: number;
  private readonly clock: () => Date;
  private readonly logger: Logger;
  private state: "idle" | "running" | "stopped" = "idle";
  private timer: NodeJS.Timeout | undefined;
  /** When the armed timer fires (the process's timer clock, not the scheduling clock). */
  private timerDueAt = 0;
  private ticking: Promise<TickReport> | undefined;
  private again = false;
  private waking = false;
  private unsubscribe: (() => void) | undefined;
  private readonly onFire: ((fired: Fired) => void) | undefined;

  constructor(options: SchedulerOptions) {
    this.engine = options.engine;
    const facet = options.schedules ?? schedulesOf(options.engine.store);
    if (!facet) {
      throw new ApflowError(
        ErrorCode.Internal,
        "this store has no schedules facet (store.schedules): schedules need MemoryStore or the Prisma store",
      );
    }
    this.schedules = facet;
    this.clock = options.clock ?? options.engine.clock;
    this.refreshMs = positive(options.refreshMs ?? 5000, "refreshMs");
    this.onTimeMs = options.onTimeMs ?? 60_000;
    this.staleFiringMs = options.staleFiringMs ?? 60_000;
    this.onFire = options.onFire;
    this.logger = (options.logger ?? options.engine.logger ?? silentLogger).child({ component: "scheduler" });
  }

  get running(): boolean {
    return this.state === "running";
  }

  // ---------------------------------------------------------------- operations

  /** Validate and store a schedule (the template is validated as `tasks.create` would). */
  async create(input: unknown, options: { userId?: string | null; basePath?: string } = {}): Promise<ScheduleView> {
    const base = options.basePath ?? "";
    const parsed = parseScheduleInput(input, base);
    parseScheduleTiming(timingInput(parsed), base);
    const now = this.clock();
    this.resolveTemplate(parsed.tasks, options.userId ?? null, now);
    const schedule = await this.schedules.createSchedule(
      {
        id: newId(),
        name: parsed.name,
        userId: options.userId ?? null,
        tasks: parsed.tasks as JsonValue[],
        trigger: parsed.trigger,
        startAt: parsed.startAt ?? null,
        endAt: parsed.endAt ?? null,
        maxRuns: parsed.maxRuns ?? null,
        enabled: parsed.enabled ?? true,
        catchUp: parsed.catchUp ?? "one",
        overlap: parsed.overlap ?? "allow",
      },
      now,
    );
    this.poke();
    return viewOf(schedule, now);
  }

  async get(id: string): Promise<ScheduleView> {
    return viewOf(await this.require(id), this.clock());
  }

  async list(query: ScheduleQuery = {}): Promise<{ schedules: ScheduleView[]; total: number }> {
    const now = this.clock();
    const page = await this.schedules.listSchedules(query);
    return { schedules: page.schedules.map((s) => viewOf(s, now)), total: page.total };
  }

  /**
   * Change a schedule. The merged timing is validated (an `endAt` before the stored `startAt` is
   * refused); a changed trigger or `startAt` counts from now (no catch-up of times it never had).
   */
  async update(id: string, patch: unknown, options: { basePath?: string } = {}): Promise<ScheduleView> {
    const base = options.basePath ?? "";
    const update = parseScheduleUpdate(patch, base);
    const current = await this.require(id);
    const merged = { ...current, ...definedOnly(update) } as Schedule;
    parseScheduleTiming(timingOf(merged), base);
    const now = this.clock();
    if (update.tasks) this.resolveTemplate(update.tasks, current.userId, now);
    const out: SchedulePatch = { ...(definedOnly(update) as SchedulePatch) };
    const retimed =
      (update.trigger && JSON.stringify(update.trigger) !== JSON.stringify(current.trigger)) ||
      (update.startAt !== undefined && update.startAt !== current.startAt) ||
      (update.enabled === true && !current.enabled);
    if (retimed && current.lastFireAt !== null) out.resetLastFireAt = now.toISOString();
    const schedule = await this.schedules.updateSchedule(id, out, now);
    this.poke();
    return viewOf(schedule, now);
  }

  async delete(id: string): Promise<{ deleted: boolean }> {
    await this.require(id);
    const deleted = await this.schedules.deleteSchedule(id);
    this.poke();
    return { deleted };
  }

  /** Fire a schedule now, whatever its timing and overlap (a manual run; it does not move the cursor). */
  async trigger(id: string, options: { idempotencyKey?: string; userId?: string | null } = {}): Promise<Fired> {
    const key = options.idempotencyKey;
    if (key === undefined) return this.triggerNow(id);
    const guard = this.engine.idempotency;
    if (!guard)
      throw new ApflowError(
        ErrorCode.InvalidParams,
        "this store does not support idempotencyKey (it has no idempotency facet)",
        {
          errors: [
            { path: "idempotencyKey", code: "unsupported", message: "this store does not support idempotencyKey" },
          ],
        },
      );
    const once = await guard.once(
      options.userId ?? null,
      key,
      "schedules.trigger",
      { scheduleId: id },
      async () => {
        const fired = await this.triggerNow(id);
        return { value: fired, response: { ...fired } };
      },
      async (response) => response as unknown as Fired,
    );
    return once.value;
  }

  private async triggerNow(id: string): Promise<Fired> {
    const schedule = await this.require(id);
    const now = this.clock();
    for (let bump = 0; bump < 10; bump++) {
      const fireAt = new Date(now.getTime() + bump);
      const rootId = this.rootIdOf(schedule, fireAt);
      const { recorded } = await this.schedules.recordFiring({
        scheduleId: id,
        fireAt,
        rootId,
        state: "firing",
        manual: true,
        now,
      });
      if (recorded) return this.launch(schedule, fireAt, true);
    }
    throw new ApflowError(ErrorCode.Internal, `schedule ${id}: could not record a manual firing`);
  }

  /** The schedule's runs, newest first, each with its tree's status. */
  async runs(id: string, options: { limit?: number } = {}): Promise<{ runs: ScheduleRunView[] }> {
    await this.require(id);
    const runs = await this.schedules.listRuns(id, { limit: options.limit ?? 100 });
    const views: ScheduleRunView[] = [];
    for (const run of runs) {
      const execution = run.rootId ? await this.latestExecution(run.rootId) : null;
      views.push({ fireAt: run.fireAt, rootId: run.rootId, status: runStatus(run, execution), manual: run.manual });
    }
    return { runs: views };
  }

  // ---------------------------------------------------------------- the loop

  /** Start firing: a pass now, then one at each due fire time and every `refreshMs`. */
  async start(): Promise<void> {
    if (this.state === "running") return;
    this.state = "running";
    let set = loops.get(this.schedules);
    if (!set) loops.set(this.schedules, (set = new Set()));
    set.add(this);
    // A tree finishing may release a queued run: look again at once.
    this.unsubscribe = this.engine.bus.subscribe((event) => {
      if (event.type === "tree.finished") this.wakeSoon(FINISHED_DEBOUNCE_MS);
    });
    await this.wake();
  }

  /** Stop the loop; a pass in progress finishes first. */
  async stop(): Promise<void> {
    this.state = "stopped";
    loops.get(this.schedules)?.delete(this);
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    await this.ticking?.catch(() => undefined);
  }

  /** Run a pass soon in every loop of this process on the same store (a schedule changed). */
  private poke(): void {
    for (const loop of loops.get(this.schedules) ?? []) loop.wakeSoon();
  }

  private wakeSoon(withinMs = 0): void {
    if (this.state !== "running") return;
    if (this.timer && this.timerDueAt <= Date.now() + withinMs) return;
    this.setTimer(withinMs);
  }

  private setTimer(delay: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timerDueAt = Date.now() + delay;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.wake();
    }, delay);
    this.timer.unref?.();
  }

  private async wake(): Promise<void> {
    if (this.state !== "running") return;
    if (this.waking) {
      this.again = true;
      return;
    }
    this.waking = true;
    let next: Date | null = null;
    try {
      do {
        this.again = false;
        try {
          next = (await this.tick()).nextFireAt;
        } catch (err) {
          this.logger.error({ err }, "schedule pass failed");
        }
      } while (this.again && this.state === "running");
    } finally {
      this.waking = false;
    }
    this.arm(next);
  }

  private arm(next: Date | null): void {
    if (this.state !== "running") return;
    const untilDue = next ? next.getTime() - this.clock().getTime() : Number.POSITIVE_INFINITY;
    this.setTimer(Math.max(0, Math.min(this.refreshMs, untilDue)));
  }

  /** One pass over every enabled schedule: drain queued runs, fire due times. */
  tick(): Promise<TickReport> {
    if (this.ticking) return this.ticking;
    const pass = this.pass().finally(() => {
      this.ticking = undefined;
    });
    this.ticking = pass;
    return pass;
  }

  private async pass(): Promise<TickReport> {
    const report: TickReport = { fired: [], queued: [], skipped: [], lost: 0, nextFireAt: null };
    for (let offset = 0; ; offset += PAGE) {
      const page = await this.schedules.listSchedules({ enabled: true, limit: PAGE, offset });
      for (const schedule of page.schedules) {
        try {
          await this.process(schedule, report);
        } catch (err) {
          this.logger.error({ err, scheduleId: schedule.id }, "schedule firing failed");
        }
      }
      if (page.schedules.length < PAGE) break;
    }
    return report;
  }

  private async process(schedule: Schedule, report: TickReport): Promise<void> {
    const now = this.clock();
    await this.repairStale(schedule, now, report);
    if (schedule.overlap === "queue") await this.drainQueue(schedule, report);
    const due = dueFirings(timingOf(schedule), {
      lastFireAt: schedule.lastFireAt ? new Date(schedule.lastFireAt) : null,
      runs: schedule.runs,
      createdAt: new Date(schedule.createdAt),
      now,
      onTimeMs: this.onTimeMs,
    });
    for (const fireAt of due.fire) {
      let state: "firing" | "queued" | "skipped" = "firing";
      if (schedule.overlap !== "allow" && (await this.unfinished(schedule, now))) {
        state = schedule.overlap === "skip" ? "skipped" : "queued";
      }
      const { recorded } = await this.schedules.recordFiring({
        scheduleId: schedule.id,
        fireAt,
        rootId: state === "skipped" ? null : this.rootIdOf(schedule, fireAt),
        state,
        now,
      });
      const at = fireAt.toISOString();
      if (!recorded) report.lost++;
      else if (state === "firing") report.fired.push(await this.launch(schedule, fireAt, false));
      else if (state === "queued") report.queued.push({ scheduleId: schedule.id, fireAt: at });
      else report.skipped.push({ scheduleId: schedule.id, fireAt: at });
    }
    const last = due.fire.at(-1);
    if (due.lastDue && (!last || due.lastDue.getTime() > last.getTime())) {
      await this.schedules.advanceSchedule(schedule.id, due.lastDue, now);
    }
    const fresh = due.fire.length > 0 || due.lastDue ? await this.schedules.getSchedule(schedule.id) : schedule;
    const next = fresh ? nextFireOf(fresh, this.clock(), this.onTimeMs) : null;
    if (next && (!report.nextFireAt || next.getTime() < report.nextFireAt.getTime())) report.nextFireAt = next;
  }

  /**
   * Finish firings whose process died between recording the fire time and starting its tree
   * (`firing` for longer than `staleFiringMs`): one process takes each over (the state moves to
   * `started` first), creates the tree if it is missing and executes it if nothing did.
   */
  private async repairStale(schedule: Schedule, now: Date, report: TickReport): Promise<void> {
    const firing = await this.schedules.listRuns(schedule.id, { state: ["firing"], limit: 100 });
    for (const run of firing) {
      if (!run.rootId || now.getTime() - Date.parse(run.updatedAt) < this.staleFiringMs) continue;
      const fireAt = new Date(run.fireAt);
      if (!(await this.schedules.transitionRun(schedule.id, fireAt, "firing", "started", now))) continue;
      const execution = await this.latestExecution(run.rootId);
      if (execution) continue;
      this.logger.warn(
        { scheduleId: schedule.id, fireAt: run.fireAt },
        "starting a firing its process left unfinished",
      );
      report.fired.push(await this.launch(schedule, fireAt, run.manual));
    }
  }

  /** Start queued runs, oldest first, while the previous run is finished. */
  private async drainQueue(schedule: Schedule, report: TickReport): Promise<void> {
    const queued = (await this.schedules.listRuns(schedule.id, { state: ["queued"], limit: 1000 })).reverse();
    for (const run of queued) {
      const now = this.clock();
      if (await this.unfinished(schedule, now)) return;
      const fireAt = new Date(run.fireAt);
      if (!(await this.schedules.transitionRun(schedule.id, fireAt, "queued", "firing", now))) continue;
      report.fired.push(await this.launch(schedule, fireAt, run.manual));
    }
  }

  /** Whether the schedule's latest started run is unfinished (overlap `skip` / `queue`). */
  private async unfinished(schedule: Schedule, now: Date): Promise<boolean> {
    const [latest] = await this.schedules.listRuns(schedule.id, { state: ["firing", "started"], limit: 1 });
    if (!latest?.rootId) return false;
    if (latest.state === "firing") return now.getTime() - Date.parse(latest.updatedAt) < this.staleFiringMs;
    const execution = await this.latestExecution(latest.rootId);
    return execution?.status === "running";
  }

  /** Create the fired tree (unless an earlier attempt did) and execute it. */
  private async launch(schedule: Schedule, fireAt: Date, manual: boolean): Promise<Fired> {
    const store = this.engine.store;
    const now = this.clock();
    const resolved = this.resolveTemplate(schedule.tasks, schedule.userId, now);
    const tasks = instantiateTemplate(resolved, schedule, fireAt, manual);
    const rootId = tasks.find((t) => !t.parentId)?.id as string;
    if (!(await store.getTask(rootId))) await this.engine.createTree(tasks, { userId: schedule.userId });
    let executionId: string | null = null;
    try {
      const handle = await this.engine.execute(rootId, { userId: schedule.userId });
      executionId = handle.execution.id;
    } catch (err) {
      if (!(err instanceof AlreadyExecutingError)) throw err;
    }
    await this.schedules.transitionRun(schedule.id, fireAt, "firing", "started", this.clock());
    this.logger.info({ scheduleId: schedule.id, fireAt: fireAt.toISOString(), rootId, manual }, "schedule fired");
    const fired: Fired = { scheduleId: schedule.id, fireAt: fireAt.toISOString(), rootId, executionId };
    try {
      this.onFire?.(fired);
    } catch (err) {
      this.logger.warn({ err }, "onFire threw");
    }
    return fired;
  }

  private rootIdOf(schedule: Schedule, fireAt: Date): string {
    const resolved = this.resolveTemplate(schedule.tasks, schedule.userId, this.clock());
    return instantiateTemplate(resolved, schedule, fireAt, false).find((t) => !t.parentId)?.id as string;
  }

  private resolveTemplate(tasks: unknown[], userId: string | null, now: Date): NewTask[] {
    const [tree] = validateTasks(tasks, { registry: this.engine.registry, userId, now, trees: "single" });
    return tree as NewTask[];
  }

  private async latestExecution(rootId: string) {
    const [execution] = await this.engine.store.listExecutions({ rootId, limit: 1 });
    return execution ?? null;
  }

  private async require(id: string): Promise<Schedule> {
    const schedule = await this.schedules.getSchedule(id);
    if (!schedule) throw new NotFoundError("schedule", id);
    return schedule;
  }
}

function timingInput(input: {
  trigger: unknown;
  startAt?: unknown;
  endAt?: unknown;
  maxRuns?: unknown;
  catchUp?: unknown;
}): unknown {
  return definedOnly({
    trigger: input.trigger,
    startAt: input.startAt,
    endAt: input.endAt,
    maxRuns: input.maxRuns,
    catchUp: input.catchUp,
  });
}

function definedOnly<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function positive(value: number, name: string): number {
  if (!Number.isFinite(value) || value <= 0) {
    throw new ApflowError(ErrorCode.InvalidParams, `${name} must be a positive number, got ${value}`);
  }
  return value;
}
