import {
  ApflowError,
  type CatchUp,
  ErrorCode,
  type JsonValue,
  type NewSchedule,
  NotFoundError,
  type Overlap,
  type RecordFiring,
  type Schedule,
  type SchedulePatch,
  type ScheduleQuery,
  type ScheduleRun,
  type ScheduleRunState,
  type ScheduleStore,
  type ScheduleTrigger,
  storeRules,
} from "@aipartnerupflow/core";
import type { SqlDatabase, SqlRow, SqlSession, SqlValue } from "../db/types.js";
import { jsonParam, marks, timeParam } from "../sql/fragments.js";
import { readBool, readJson, readTime, writeJson } from "../store/rows.js";

const { requireNow } = storeRules;

const SCHEDULE_COLUMNS =
  "id, name, user_id, tasks, trigger_def, start_at, end_at, max_runs, enabled, catch_up, overlap, last_fire_at, runs, created_at, updated_at";
const RUN_COLUMNS = "schedule_id, fire_at, root_id, state, manual, created_at, updated_at";

/** Per database: the facet is stateless, one instance serves every caller of that store. */
const facets = new WeakMap<SqlDatabase, SqlScheduleStore>();

/** The schedules facet of the Prisma store (`store.schedules`) on its database. */
export function sqlSchedules(db: SqlDatabase): SqlScheduleStore {
  let facet = facets.get(db);
  if (!facet) facets.set(db, (facet = new SqlScheduleStore(db)));
  return facet;
}

/**
 * `ScheduleStore` on SQLite or PostgreSQL: tables `schedules` and `schedule_runs` (migration
 * 0004), hand-written SQL in the store's own connection. The runs' primary key (schedule, fire
 * time) makes `recordFiring` at most once across every process sharing the database.
 */
export class SqlScheduleStore implements ScheduleStore {
  constructor(private readonly db: SqlDatabase) {}

  async createSchedule(s: NewSchedule, now: Date): Promise<Schedule> {
    requireNow(now, "createSchedule");
    const d = this.db.dialect;
    const t = timeParam(d);
    return this.db.transaction(async (tx) => {
      const taken = await tx.all("SELECT id FROM schedules WHERE id = ?", [s.id]);
      if (taken.length > 0) {
        throw new ApflowError(ErrorCode.InvalidParams, `a schedule with id ${s.id} exists already`, {
          errors: [{ path: "id", code: "duplicate", message: `schedule id ${s.id} is taken` }],
        });
      }
      const rows = await tx.all(
        `INSERT INTO schedules (${SCHEDULE_COLUMNS})
         VALUES (?, ?, ?, ${jsonParam(d)}, ${jsonParam(d)}, ${t}, ${t}, ?, ?, ?, ?, NULL, 0, ${t}, ${t})
         RETURNING ${SCHEDULE_COLUMNS}`,
        [
          s.id,
          s.name,
          s.userId,
          writeJson(s.tasks),
          writeJson(s.trigger),
          time(s.startAt),
          time(s.endAt),
          s.maxRuns,
          s.enabled,
          s.catchUp,
          s.overlap,
          now,
          now,
        ],
      );
      return scheduleFromRow(tx, rows[0] as SqlRow);
    });
  }

  async getSchedule(id: string): Promise<Schedule | null> {
    const rows = await this.db.all(`SELECT ${SCHEDULE_COLUMNS} FROM schedules WHERE id = ?`, [id]);
    return rows[0] ? scheduleFromRow(this.db, rows[0]) : null;
  }

  async listSchedules(query: ScheduleQuery = {}): Promise<{ schedules: Schedule[]; total: number }> {
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (query.userId !== undefined) {
      if (query.userId === null) where.push("user_id IS NULL");
      else {
        where.push("user_id = ?");
        params.push(query.userId);
      }
    }
    if (query.enabled !== undefined) {
      where.push("enabled = ?");
      params.push(query.enabled);
    }
    const clause = where.length > 0 ? ` WHERE ${where.join(" AND ")}` : "";
    const [count] = await this.db.all<{ n: unknown }>(`SELECT COUNT(*) AS n FROM schedules${clause}`, params);
    const page: SqlValue[] = [...params, query.limit ?? -1, query.offset ?? 0];
    const limit = this.db.dialect === "postgres" ? "LIMIT NULLIF(?::bigint, -1) OFFSET ?" : "LIMIT ? OFFSET ?";
    const rows = await this.db.all(
      `SELECT ${SCHEDULE_COLUMNS} FROM schedules${clause} ORDER BY created_at, id ${limit}`,
      page,
    );
    return { schedules: rows.map((r) => scheduleFromRow(this.db, r)), total: Number(count?.n ?? 0) };
  }

  async updateSchedule(id: string, patch: SchedulePatch, now: Date): Promise<Schedule> {
    requireNow(now, "updateSchedule");
    const d = this.db.dialect;
    const t = timeParam(d);
    const sets: string[] = [];
    const params: SqlValue[] = [];
    const set = (column: string, mark: string, value: SqlValue): void => {
      sets.push(`${column} = ${mark}`);
      params.push(value);
    };
    if (patch.name !== undefined) set("name", "?", patch.name);
    if (patch.tasks !== undefined) set("tasks", jsonParam(d), writeJson(patch.tasks));
    if (patch.trigger !== undefined) set("trigger_def", jsonParam(d), writeJson(patch.trigger));
    if (patch.startAt !== undefined) set("start_at", t, time(patch.startAt));
    if (patch.endAt !== undefined) set("end_at", t, time(patch.endAt));
    if (patch.maxRuns !== undefined) set("max_runs", "?", patch.maxRuns);
    if (patch.enabled !== undefined) set("enabled", "?", patch.enabled);
    if (patch.catchUp !== undefined) set("catch_up", "?", patch.catchUp);
    if (patch.overlap !== undefined) set("overlap", "?", patch.overlap);
    if (patch.resetLastFireAt !== undefined) set("last_fire_at", t, time(patch.resetLastFireAt));
    set("updated_at", t, now);
    const rows = await this.db.all(
      `UPDATE schedules SET ${sets.join(", ")} WHERE id = ? RETURNING ${SCHEDULE_COLUMNS}`,
      [...params, id],
    );
    if (!rows[0]) throw new NotFoundError("schedule", id);
    return scheduleFromRow(this.db, rows[0]);
  }

  async deleteSchedule(id: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      await tx.run("DELETE FROM schedule_runs WHERE schedule_id = ?", [id]);
      return (await tx.run("DELETE FROM schedules WHERE id = ?", [id])) > 0;
    });
  }

  async recordFiring(f: RecordFiring): Promise<{ recorded: boolean; run: ScheduleRun }> {
    requireNow(f.now, "recordFiring");
    const t = timeParam(this.db.dialect);
    const manual = f.manual ?? false;
    return this.db.transaction(async (tx) => {
      const exists = await tx.all("SELECT id FROM schedules WHERE id = ?", [f.scheduleId]);
      if (exists.length === 0) throw new NotFoundError("schedule", f.scheduleId);
      const inserted = await tx.all(
        `INSERT INTO schedule_runs (${RUN_COLUMNS}) VALUES (?, ${t}, ?, ?, ?, ${t}, ${t})
         ON CONFLICT (schedule_id, fire_at) DO NOTHING RETURNING ${RUN_COLUMNS}`,
        [f.scheduleId, f.fireAt, f.rootId, f.state, manual, f.now, f.now],
      );
      if (inserted[0]) {
        if (!manual) {
          await tx.run(
            `UPDATE schedules SET runs = runs + ?, updated_at = ${t},
               last_fire_at = CASE WHEN last_fire_at IS NULL OR last_fire_at < ${t} THEN ${t} ELSE last_fire_at END
             WHERE id = ?`,
            [f.state === "skipped" ? 0 : 1, f.now, f.fireAt, f.fireAt, f.scheduleId],
          );
        }
        return { recorded: true, run: runFromRow(inserted[0]) };
      }
      const existing = await tx.all(
        `SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = ? AND fire_at = ${t}`,
        [f.scheduleId, f.fireAt],
      );
      return { recorded: false, run: runFromRow(existing[0] as SqlRow) };
    });
  }

  async transitionRun(
    scheduleId: string,
    fireAt: Date,
    from: ScheduleRunState,
    to: ScheduleRunState,
    now: Date,
  ): Promise<boolean> {
    requireNow(now, "transitionRun");
    const t = timeParam(this.db.dialect);
    const changed = await this.db.run(
      `UPDATE schedule_runs SET state = ?, updated_at = ${t} WHERE schedule_id = ? AND fire_at = ${t} AND state = ?`,
      [to, now, scheduleId, fireAt, from],
    );
    return changed > 0;
  }

  async advanceSchedule(id: string, to: Date, now: Date): Promise<Schedule | null> {
    requireNow(now, "advanceSchedule");
    const t = timeParam(this.db.dialect);
    await this.db.run(
      `UPDATE schedules SET last_fire_at = ${t}, updated_at = ${t}
       WHERE id = ? AND (last_fire_at IS NULL OR last_fire_at < ${t})`,
      [to, now, id, to],
    );
    return this.getSchedule(id);
  }

  async listRuns(
    scheduleId: string,
    query: { state?: ScheduleRunState[]; limit?: number } = {},
  ): Promise<ScheduleRun[]> {
    const params: SqlValue[] = [scheduleId];
    let states = "";
    if (query.state) {
      if (query.state.length === 0) return [];
      states = ` AND state IN (${marks(query.state.length)})`;
      params.push(...query.state);
    }
    params.push(query.limit ?? 100);
    const rows = await this.db.all(
      `SELECT ${RUN_COLUMNS} FROM schedule_runs WHERE schedule_id = ?${states} ORDER BY fire_at DESC LIMIT ?`,
      params,
    );
    return rows.map(runFromRow);
  }
}

function time(iso: string | null): Date | null {
  return iso === null ? null : new Date(iso);
}

function scheduleFromRow(db: SqlSession, row: SqlRow): Schedule {
  const d = db.dialect;
  return {
    id: row.id as string,
    name: row.name as string,
    userId: (row.user_id as string | null) ?? null,
    tasks: readJson<JsonValue[]>(d, row.tasks) ?? [],
    trigger: readJson<JsonValue>(d, row.trigger_def) as unknown as ScheduleTrigger,
    startAt: readTime(row.start_at),
    endAt: readTime(row.end_at),
    maxRuns: row.max_runs === null || row.max_runs === undefined ? null : Number(row.max_runs),
    enabled: readBool(row.enabled),
    catchUp: row.catch_up as CatchUp,
    overlap: row.overlap as Overlap,
    lastFireAt: readTime(row.last_fire_at),
    runs: Number(row.runs),
    createdAt: readTime(row.created_at) as string,
    updatedAt: readTime(row.updated_at) as string,
  };
}

function runFromRow(row: SqlRow): ScheduleRun {
  return {
    scheduleId: row.schedule_id as string,
    fireAt: readTime(row.fire_at) as string,
    rootId: (row.root_id as string | null) ?? null,
    state: row.state as ScheduleRunState,
    manual: readBool(row.manual),
    createdAt: readTime(row.created_at) as string,
    updatedAt: readTime(row.updated_at) as string,
  };
}
