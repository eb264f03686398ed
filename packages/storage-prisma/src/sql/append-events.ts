import type { NewEvent, TaskEvent } from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import { chunks, jsonParam, timeParam } from "./fragments.js";
import { writeJson } from "../store/rows.js";

const ROWS_PER_INSERT = 200;

/** PostgreSQL: the transaction-scoped advisory lock that serialises event appends. */
export const EVENTS_LOCK_KEY = 4242001;

/**
 * Append events in the caller's transaction with one multi-row INSERT per 200 events; `seq`
 * comes from the database (AUTOINCREMENT / BIGSERIAL), so it grows across processes.
 *
 * Readers page by `seq` (`afterSeq`), so seq order must be commit order: otherwise a reader that
 * saw seq N+1 committed while N was not yet would never see N. SQLite has one writer at a time.
 * On PostgreSQL a sequence hands out numbers before commit, so the append takes a
 * transaction-scoped advisory lock first, held until COMMIT: appends of concurrent transactions
 * take their numbers and commit one after the other. Call it once per transaction, as its last
 * write (the lock is the last one taken, so waiting for it never closes a deadlock cycle).
 */
export async function appendEvents(tx: SqlSession, events: readonly NewEvent[]): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  const d = tx.dialect;
  const row = `(?, ?, ?, ?, ?, ?${d === "postgres" ? "::float8" : ""}, ?, ${jsonParam(d)}, ${jsonParam(d)}, ${timeParam(d)})`;
  let locked = d !== "postgres";
  for (const batch of chunks(events, ROWS_PER_INSERT)) {
    const params: SqlValue[] = [];
    for (const e of batch) {
      params.push(
        e.type,
        e.taskId,
        e.rootId,
        e.executionId,
        e.status,
        e.progress ?? null,
        e.message ?? null,
        e.result === undefined ? null : JSON.stringify(e.result),
        e.error === undefined ? null : (writeJson(e.error) ?? "null"),
        new Date(e.at),
      );
    }
    // PostgreSQL: the first INSERT takes the lock itself (a CTE its rows depend on, so the lock is
    // held before the first `seq` is drawn): one round trip instead of two.
    const values = Array.from({ length: batch.length }, () => row).join(", ");
    const rows = await tx.all<{ seq: unknown }>(
      locked
        ? `INSERT INTO events (type, task_id, root_id, execution_id, status, progress, message, result, error, at)
       VALUES ${values} RETURNING seq`
        : `WITH apflow_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${EVENTS_LOCK_KEY}) AS held)
       INSERT INTO events (type, task_id, root_id, execution_id, status, progress, message, result, error, at)
       SELECT v.* FROM (VALUES ${values}) AS v, apflow_lock RETURNING seq`,
      params,
    );
    locked = true;
    const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
    batch.forEach((e, i) => {
      out.push({ ...e, seq: seqs[i] as number } as TaskEvent);
    });
  }
  return out;
}
