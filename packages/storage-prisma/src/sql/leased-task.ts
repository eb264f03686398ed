import { LeaseLostError, NotFoundError } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";

/**
 * A write fenced by a lease token matched no row: say why. The task is missing (NotFoundError) or
 * its lease is not the caller's any more (LeaseLostError); either way nothing was written.
 */
export async function leaseRefusal(tx: SqlSession, taskId: string): Promise<Error> {
  const rows = await tx.all("SELECT id FROM tasks WHERE id = ?", [taskId]);
  return rows.length === 0 ? new NotFoundError("task", taskId) : new LeaseLostError(taskId);
}
