import { ApflowError, ErrorCode, NotFoundError } from "../errors.js";
import { requireNow } from "../store/rules.js";
import type {
  NewSchedule,
  RecordFiring,
  Schedule,
  SchedulePatch,
  ScheduleQuery,
  ScheduleRun,
  ScheduleRunState,
  ScheduleStore,
} from "./store-types.js";

/** `ScheduleStore` in process memory: `MemoryStore.schedules`. Every method is atomic (one thread). */
export class MemoryScheduleStore implements ScheduleStore {
  private readonly schedules = new Map<string, Schedule>();
  /** Runs per schedule, keyed by fire time (epoch ms): the at-most-once key. */
  private readonly runs = new Map<string, Map<number, ScheduleRun>>();

  async createSchedule(schedule: NewSchedule, now: Date): Promise<Schedule> {
    const at = requireNow(now, "createSchedule").toISOString();
    if (this.schedules.has(schedule.id)) {
      throw new ApflowError(ErrorCode.InvalidParams, `a schedule with id ${schedule.id} exists already`, {
        errors: [{ path: "id", code: "duplicate", message: `schedule id ${schedule.id} is taken` }],
      });
    }
    const row: Schedule = { ...structuredClone(schedule), lastFireAt: null, runs: 0, createdAt: at, updatedAt: at };
    this.schedules.set(row.id, row);
    this.runs.set(row.id, new Map());
    return structuredClone(row);
  }

  async getSchedule(id: string): Promise<Schedule | null> {
    const s = this.schedules.get(id);
    return s ? structuredClone(s) : null;
  }

  async listSchedules(query: ScheduleQuery = {}): Promise<{ schedules: Schedule[]; total: number }> {
    const all = [...this.schedules.values()].filter(
      (s) =>
        (query.userId === undefined || s.userId === query.userId) &&
        (query.enabled === undefined || s.enabled === query.enabled),
    );
    const offset = query.offset ?? 0;
    const page = all.slice(offset, query.limit === undefined ? undefined : offset + query.limit);
    return { schedules: page.map((s) => structuredClone(s)), total: all.length };
  }

  async updateSchedule(id: string, patch: SchedulePatch, now: Date): Promise<Schedule> {
    const at = requireNow(now, "updateSchedule").toISOString();
    const s = this.schedules.get(id);
    if (!s) throw new NotFoundError("schedule", id);
    const { resetLastFireAt, ...fields } = structuredClone(patch) as SchedulePatch;
    const next: Schedule = { ...s, ...definedOnly(fields), updatedAt: at };
    if (resetLastFireAt !== undefined) next.lastFireAt = resetLastFireAt;
    this.schedules.set(id, next);
    return structuredClone(next);
  }

  async deleteSchedule(id: string): Promise<boolean> {
    this.runs.delete(id);
    return this.schedules.delete(id);
  }

  async recordFiring(firing: RecordFiring): Promise<{ recorded: boolean; run: ScheduleRun }> {
    const at = requireNow(firing.now, "recordFiring").toISOString();
    const s = this.schedules.get(firing.scheduleId);
    const runs = this.runs.get(firing.scheduleId);
    if (!s || !runs) throw new NotFoundError("schedule", firing.scheduleId);
    const key = firing.fireAt.getTime();
    const existing = runs.get(key);
    if (existing) return { recorded: false, run: { ...existing } };
    const run: ScheduleRun = {
      scheduleId: firing.scheduleId,
      fireAt: firing.fireAt.toISOString(),
      rootId: firing.rootId,
      state: firing.state,
      manual: firing.manual ?? false,
      createdAt: at,
      updatedAt: at,
    };
    runs.set(key, run);
    if (!run.manual) {
      if (s.lastFireAt === null || Date.parse(s.lastFireAt) < key) s.lastFireAt = run.fireAt;
      if (run.state !== "skipped") s.runs++;
      s.updatedAt = at;
    }
    return { recorded: true, run: { ...run } };
  }

  async transitionRun(
    scheduleId: string,
    fireAt: Date,
    from: ScheduleRunState,
    to: ScheduleRunState,
    now: Date,
  ): Promise<boolean> {
    const at = requireNow(now, "transitionRun").toISOString();
    const run = this.runs.get(scheduleId)?.get(fireAt.getTime());
    if (!run || run.state !== from) return false;
    run.state = to;
    run.updatedAt = at;
    return true;
  }

  async advanceSchedule(id: string, to: Date, now: Date): Promise<Schedule | null> {
    const at = requireNow(now, "advanceSchedule").toISOString();
    const s = this.schedules.get(id);
    if (!s) return null;
    if (s.lastFireAt === null || Date.parse(s.lastFireAt) < to.getTime()) {
      s.lastFireAt = to.toISOString();
      s.updatedAt = at;
    }
    return structuredClone(s);
  }

  async listRuns(
    scheduleId: string,
    query: { state?: ScheduleRunState[]; limit?: number } = {},
  ): Promise<ScheduleRun[]> {
    const runs = [...(this.runs.get(scheduleId)?.values() ?? [])]
      .filter((r) => !query.state || query.state.includes(r.state))
      .sort((a, b) => Date.parse(b.fireAt) - Date.parse(a.fireAt));
    return runs.slice(0, query.limit ?? 100).map((r) => ({ ...r }));
  }
}

function definedOnly<T extends object>(obj: T): Partial<T> {
  return Object.fromEntries(Object.entries(obj).filter(([, v]) => v !== undefined)) as Partial<T>;
}
