import type { NewEvent, TaskEvent } from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import { chunks, jsonParam, timeParam } from "./fragments.js";
import { writeJson } from "../store/rows.js";

const ROWS_PER_INSERT = 200;

/** PostgreSQL: the transaction-scoped advisory lock that serialises event appends. */
export const EVENTS_LOCK_KEY = 4242001;

/**
 * Append events in the caller's transaction with one multi-row INSERT per 200 events (SQLite;
 * PostgreSQL: one INSERT of column arrays for all of them); `seq`
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
  if (tx.dialect === "postgres") return appendPostgres(tx, events);
  const out: TaskEvent[] = [];
  const d = tx.dialect;
  const row = `(?, ?, ?, ?, ?, ?, ?, ${jsonParam(d)}, ${jsonParam(d)}, ${jsonParam(d)}, ${timeParam(d)})`;
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
        messageColumn(e),
        e.result === undefined ? null : JSON.stringify(e.result),
        e.error === undefined ? null : (writeJson(e.error) ?? "null"),
        e.data === undefined ? null : JSON.stringify(e.data),
        new Date(e.at),
      );
    }
    const rows = await tx.all<{ seq: unknown }>(
      `INSERT INTO events (type, task_id, root_id, execution_id, status, progress, message, result, error, data, at)
       VALUES ${Array.from({ length: batch.length }, () => row).join(", ")} RETURNING seq`,
      params,
    );
    const seqs = rows.map((r) => Number(r.seq)).sort((a, b) => a - b);
    batch.forEach((e, i) => {
      out.push({ ...e, seq: seqs[i] as number } as TaskEvent);
    });
  }
  return out;
}

/** PostgreSQL: the events' 11 column arrays (`eventColumns`) as rows `v`, `v.n` their order. */
export const EVENT_ARRAYS = `unnest(?::text[], ?::text[], ?::text[], ?::text[], ?::text[], ?::float8[], ?::text[], ?::text[], ?::text[], ?::text[], ?::timestamptz[])
      WITH ORDINALITY AS v(type, task_id, root_id, execution_id, status, progress, message, result, error, data, at, n)`;

/** The values of `INSERT INTO events (${EVENT_INSERT_COLUMNS})` selected from `EVENT_ARRAYS`. */
export const EVENT_VALUES =
  "v.type, v.task_id, v.root_id, v.execution_id, v.status, v.progress, v.message, v.result::jsonb, v.error::jsonb, v.data::jsonb, v.at";

export const EVENT_INSERT_COLUMNS =
  "type, task_id, root_id, execution_id, status, progress, message, result, error, data, at";

/**
 * PostgreSQL: every event in one INSERT of column arrays (`unnest`: one fixed, prepared
 * statement whatever their number), which takes the events lock itself (a CTE its rows depend
 * on, so the lock is held before the first `seq` is drawn), in the events' order.
 */
const APPEND_POSTGRES = `WITH apflow_lock AS MATERIALIZED (SELECT pg_advisory_xact_lock(${EVENTS_LOCK_KEY}) AS held)
  INSERT INTO events (${EVENT_INSERT_COLUMNS})
  SELECT ${EVENT_VALUES}
    FROM ${EVENT_ARRAYS}, apflow_lock
   ORDER BY v.n RETURNING seq`;

async function appendPostgres(tx: SqlSession, events: readonly NewEvent[]): Promise<TaskEvent[]> {
  if (events.length === 0) return [];
  const rows = await tx.values(APPEND_POSTGRES, eventColumns(events) as unknown as SqlValue[], true);
  return withSeqs(events, rows);
}

/**
 * PostgreSQL: the events as the 11 column arrays `APPEND_POSTGRES` binds, in `EVENT_ARRAYS`'
 * order (also bound by statements that append in a CTE of their own, `submitAtOnce`).
 */
export function eventColumns(events: readonly NewEvent[]): Array<Array<string | number | null>> {
  const columns: Array<Array<string | number | null>> = Array.from({ length: 11 }, () => []);
  for (const e of events) {
    columns[0]?.push(e.type);
    columns[1]?.push(e.taskId);
    columns[2]?.push(e.rootId);
    columns[3]?.push(e.executionId);
    columns[4]?.push(e.status);
    columns[5]?.push(e.progress ?? null);
    columns[6]?.push(messageColumn(e));
    columns[7]?.push(e.result === undefined ? null : JSON.stringify(e.result));
    columns[8]?.push(e.error === undefined ? null : (writeJson(e.error) ?? "null"));
    columns[9]?.push(e.data === undefined ? null : JSON.stringify(e.data));
    columns[10]?.push(e.at);
  }
  return columns;
}

/** The events with the seqs a `RETURNING seq` gave them (drawn in the events' order). */
export function withSeqs(events: readonly NewEvent[], rows: readonly unknown[][]): TaskEvent[] {
  const seqs = rows.map((r) => Number(r[0])).sort((a, b) => a - b);
  return events.map((e, i) => ({ ...e, seq: seqs[i] as number }) as TaskEvent);
}

/**
 * The `message` column: an event's message, or for `task.retrying` (which has none) its `retryAt`
 * (read back by `eventFromRow`), so the events table needs no column of its own for it.
 */
function messageColumn(e: NewEvent): string | null {
  return e.type === "task.retrying" ? (e.retryAt ?? null) : (e.message ?? null);
}
