import {
  assertTransition,
  type ClaimedTask,
  type ClaimOptions,
  type DependencyResult,
  type JsonValue,
  type NewEvent,
  sourcesOf,
  type TaskStatus,
} from "@aipartnerupflow/core";
import type { Dialect, SqlSession } from "../db/types.js";
import { type TaskRow, readBool, readJson, taskFromRow } from "../store/rows.js";
import { chunks, IN_CHUNK, marks, statusList, timeParam } from "./fragments.js";

const CLAIMABLE = statusList(sourcesOf("in_progress"));

/**
 * One statement takes the ready tasks: pending, every dependency resolved (`unresolved = 0`),
 * queued by a running execution, due (`run_at`), in priority then FIFO order — a range scan of
 * `tasks_ready_idx`. It marks them in progress with a fresh lease token each. On PostgreSQL
 * `FOR UPDATE SKIP LOCKED` lets many nodes claim at once without waiting for each other.
 */
function claimSql(d: Dialect): string {
  const now = timeParam(d);
  const set = `status = 'in_progress', attempt = attempt + 1, started_at = ${now}, completed_at = NULL,
      error = NULL, updated_at = ${now}, lease_owner = ?, lease_expires_at = ${now}, cancel_requested = false`;
  const pick = `SELECT t.id FROM tasks t JOIN executions e ON e.id = t.execution_id AND e.status = 'running'
      WHERE t.status IN ${CLAIMABLE} AND t.unresolved = 0 AND (t.run_at IS NULL OR t.run_at <= ${now})
      ORDER BY t.priority, t.ordinal LIMIT ?`;
  return d === "postgres"
    ? `WITH picked AS (${pick} FOR UPDATE OF t SKIP LOCKED)
       UPDATE tasks SET ${set}, lease_token = gen_random_uuid()::text FROM picked WHERE tasks.id = picked.id
       RETURNING tasks.*`
    : `UPDATE tasks SET ${set}, lease_token = lower(hex(randomblob(16))) WHERE id IN (${pick}) RETURNING *`;
}

interface DependencyRow {
  task_id: string;
  required: unknown;
  id: string;
  name: string;
  status: string;
  result: unknown;
}

export async function claimReady(
  tx: SqlSession,
  options: ClaimOptions,
  now: Date,
): Promise<{ claimed: ClaimedTask[]; events: NewEvent[] }> {
  if (options.limit <= 0) return { claimed: [], events: [] };
  const d = tx.dialect;
  const expires = new Date(now.getTime() + options.leaseMs);
  const set = [now, now, options.owner, expires];
  const pick = [now, options.limit];
  // PostgreSQL's statement names the picked rows first (a CTE), SQLite's names them last.
  const params = d === "postgres" ? [...pick, ...set] : [...set, ...pick];
  const rows = await tx.all<TaskRow>(claimSql(d), params);
  if (rows.length === 0) return { claimed: [], events: [] };
  rows.sort((a, b) => a.priority - b.priority || Number(a.ordinal) - Number(b.ordinal));
  const at = now.toISOString();

  await tx.run(
    `INSERT INTO attempts (task_id, attempt, started_at, status, owner)
     VALUES ${rows.map(() => `(?, ?, ${timeParam(d)}, 'in_progress', ?)`).join(", ")}
     ON CONFLICT (task_id, attempt) DO UPDATE SET started_at = excluded.started_at, ended_at = NULL,
       status = excluded.status, error = NULL, owner = excluded.owner`,
    rows.flatMap((r) => [r.id, Number(r.attempt), now, options.owner]),
  );
  const dependencies = await dependencyResults(tx, rows);
  const demo = await demoFlags(tx, rows);

  const claimed: ClaimedTask[] = [];
  const events: NewEvent[] = [];
  for (const row of rows) {
    assertTransition(row.id, "pending", row.status as TaskStatus);
    const task = taskFromRow(d, row);
    const executionId = row.execution_id as string;
    claimed.push({
      task,
      leaseToken: row.lease_token as string,
      executionId,
      demo: demo.get(executionId) ?? false,
      dependencies: task.dependencies.length === 0 ? [] : (dependencies.get(row.id) ?? []),
      lastCheckpoint: readJson<JsonValue>(d, row.checkpoint),
    });
    events.push({
      type: "task.started",
      taskId: task.id,
      rootId: task.rootId,
      executionId,
      status: "in_progress",
      progress: task.progress,
      at,
    });
  }
  return { claimed, events };
}

/** What each claimed task's executor sees of its dependencies, in the order they were written. */
async function dependencyResults(tx: SqlSession, rows: TaskRow[]): Promise<Map<string, DependencyResult[]>> {
  const out = new Map<string, DependencyResult[]>();
  const ids = rows.filter((r) => hasDependencies(tx.dialect, r)).map((r) => r.id);
  for (const batch of chunks(ids, IN_CHUNK)) {
    const deps = await tx.all<DependencyRow>(
      `SELECT dep.task_id, dep.required, up.id, up.name, up.status, up.result
         FROM task_dependencies dep JOIN tasks up ON up.id = dep.depends_on_id
        WHERE dep.task_id IN (${marks(batch.length)}) ORDER BY dep.task_id, dep.position`,
      batch,
    );
    for (const dep of deps) {
      let list = out.get(dep.task_id);
      if (!list) out.set(dep.task_id, (list = []));
      list.push({
        id: dep.id,
        name: dep.name,
        status: dep.status as TaskStatus,
        required: readBool(dep.required),
        result: readJson<JsonValue>(tx.dialect, dep.result),
      });
    }
  }
  return out;
}

function hasDependencies(d: Dialect, row: TaskRow): boolean {
  const deps = readJson<JsonValue>(d, row.dependencies);
  return Array.isArray(deps) && deps.length > 0;
}

async function demoFlags(tx: SqlSession, rows: TaskRow[]): Promise<Map<string, boolean>> {
  const ids = [...new Set(rows.map((r) => r.execution_id as string))];
  const found = await tx.all<{ id: string; demo: unknown }>(
    `SELECT id, demo FROM executions WHERE id IN (${marks(ids.length)})`,
    ids,
  );
  return new Map(found.map((e) => [e.id, readBool(e.demo)]));
}
