import { storeRules } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { readTime } from "../store/rows.js";
import { statusIn, timeParam, unindexed } from "./fragments.js";

const { STATUS } = storeRules;

/**
 * When the next queued task becomes due (core's `dueAtMs`: its `run_at`, not before its root's):
 * the earliest such time after `now` among tasks claimable but for their time — pending, every
 * dependency resolved, queued by a running execution. It reads the ready index
 * (`tasks_ready_idx`: pending, `unresolved = 0`), the same range the claim scans, and each
 * candidate's root by primary key: its cost grows with the ready tasks (about 30 ms for 20,000 on
 * PostgreSQL). The engine reads it after a claim that came back short, at most every 200 ms.
 */
export async function nextDueAt(db: SqlSession, now: Date): Promise<Date | null> {
  const d = db.dialect;
  const t = timeParam(d);
  // The root holds back its tree by the `runAt` a user gave it (`user_run_at`, as the claim does),
  // not by its own retry backoff.
  const rootAt = "(CASE WHEN t.parent_id IS NULL THEN NULL ELSE r.user_run_at END)";
  const due = `CASE WHEN t.run_at IS NULL OR ${rootAt} > t.run_at THEN ${rootAt} ELSE t.run_at END`;
  // `unindexed` status: each candidate's execution by primary key. Without statistics (a fresh
  // database) PostgreSQL would rather re-scan the running executions for every candidate (20,000
  // ready tasks: 965 ms against 134 ms).
  const [row] = await db.values(
    `SELECT MIN(${due}) FROM tasks t
       JOIN executions e ON e.id = t.execution_id AND ${unindexed(d, "e.status")} = 'running'
       JOIN tasks r ON r.id = t.root_id
      WHERE ${statusIn("t.status", STATUS.claimable)} AND t.unresolved = 0 AND (t.run_at > ${t} OR ${rootAt} > ${t})`,
    [now, now],
    true,
  );
  const at = readTime(row?.[0] ?? null);
  return at === null ? null : new Date(at);
}
