import type { NewEvent, TaskEvent } from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import { chunks, jsonParam, timeParam } from "./fragments.js";
import { writeJson } from "../store/rows.js";

const ROWS_PER_INSERT = 200;

/**
 * Append events in the caller's transaction with one multi-row INSERT per 200 events; `seq`
 * comes from the database (AUTOINCREMENT / BIGSERIAL), so it grows across processes.
 */
export async function appendEvents(tx: SqlSession, events: readonly NewEvent[]): Promise<TaskEvent[]> {
  const out: TaskEvent[] = [];
  const d = tx.dialect;
  const row = `(?, ?, ?, ?, ?, ?, ?, ${jsonParam(d)}, ${jsonParam(d)}, ${timeParam(d)})`;
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
    const rows = await tx.all<{ seq: unknown }>(
      `INSERT INTO events (type, task_id, root_id, execution_id, status, progress, message, result, error, at)
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
