import { storeRules } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { readTime } from "../store/rows.js";
import { statusIn, timeParam } from "./fragments.js";

const { STATUS } = storeRules;

/**
 * When the next queued task becomes due (core's `dueAtMs`: its `run_at`, not before its root's):
 * the earliest such time after `now` among tasks claimable but for their time — pending, every
 * dependency resolved, queued by a running execution. It reads the ready index
 * (`tasks_ready_idx`: pending, `unresolved = 0`), the same range the claim scans, and each
 * candidate's root by primary key. The engine calls it only when a claim came back short.
 */
export async function nextDueAt(db: SqlSession, now: Date): Promise<Date | null> {
  const t = timeParam(db.dialect);
  const due = "CASE WHEN t.run_at IS NULL OR r.run_at > t.run_at THEN r.run_at ELSE t.run_at END";
  const [row] = await db.values(
    `SELECT MIN(${due}) FROM tasks t
       JOIN executions e ON e.id = t.execution_id AND e.status = 'running'
       JOIN tasks r ON r.id = t.root_id
      WHERE ${statusIn("t.status", STATUS.claimable)} AND t.unresolved = 0 AND (t.run_at > ${t} OR r.run_at > ${t})`,
    [now, now],
    true,
  );
  const at = readTime(row?.[0] ?? null);
  return at === null ? null : new Date(at);
}
