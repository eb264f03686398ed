import { type JsonObject, type JsonValue, type NewEvent, storeRules } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { jsonParam, statusIn, timeParam } from "./fragments.js";

const LEASED = `id = ? AND ${statusIn("status", [storeRules.RUNNING])} AND lease_token = ?`;
import { leaseRefusal } from "./leased-task.js";

/** Writes a running task's owner makes while it runs, each fenced by the lease token. */

export async function reportProgress(
  tx: SqlSession,
  taskId: string,
  leaseToken: string,
  progress: number,
  message: string | undefined,
  now: Date,
): Promise<NewEvent> {
  const value = storeRules.clampProgress(progress);
  const [row] = await tx.all<{ root_id: string; execution_id: string | null }>(
    `UPDATE tasks SET progress = ?, updated_at = ${timeParam(tx.dialect)}
      WHERE ${LEASED} RETURNING root_id, execution_id`,
    [value, now, taskId, leaseToken],
  );
  if (!row) throw await leaseRefusal(tx, taskId);
  return storeRules.progressEvent(
    { taskId, rootId: row.root_id, executionId: row.execution_id },
    value,
    message,
    now.toISOString(),
  );
}

export async function saveLeasedJson(
  tx: SqlSession,
  column: "inputs" | "checkpoint",
  taskId: string,
  leaseToken: string,
  value: JsonObject | JsonValue,
): Promise<void> {
  const changed = await tx.run(`UPDATE tasks SET ${column} = ${jsonParam(tx.dialect)} WHERE ${LEASED}`, [
    JSON.stringify(value),
    taskId,
    leaseToken,
  ]);
  if (changed === 0) throw await leaseRefusal(tx, taskId);
}
