import type { JsonObject, JsonValue, NewEvent } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { jsonParam, timeParam } from "./fragments.js";
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
  const value = Number.isFinite(progress) ? Math.min(1, Math.max(0, progress)) : 0;
  const [row] = await tx.all<{ root_id: string; execution_id: string | null }>(
    `UPDATE tasks SET progress = ?, updated_at = ${timeParam(tx.dialect)}
      WHERE id = ? AND status = 'in_progress' AND lease_token = ? RETURNING root_id, execution_id`,
    [value, now, taskId, leaseToken],
  );
  if (!row) throw await leaseRefusal(tx, taskId);
  const event: NewEvent = {
    type: "task.progress",
    taskId,
    rootId: row.root_id,
    executionId: row.execution_id,
    status: "in_progress",
    progress: value,
    at: now.toISOString(),
  };
  if (message !== undefined) event.message = message;
  return event;
}

export async function saveLeasedJson(
  tx: SqlSession,
  column: "inputs" | "checkpoint",
  taskId: string,
  leaseToken: string,
  value: JsonObject | JsonValue,
): Promise<void> {
  const changed = await tx.run(
    `UPDATE tasks SET ${column} = ${jsonParam(tx.dialect)} WHERE id = ? AND status = 'in_progress' AND lease_token = ?`,
    [JSON.stringify(value), taskId, leaseToken],
  );
  if (changed === 0) throw await leaseRefusal(tx, taskId);
}
