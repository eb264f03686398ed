import { type NewEvent, storeRules, type TaskStatus } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { byOrdinal, type TaskRow } from "../store/rows.js";
import type { ExecutionLedger } from "./execution-accounting.js";
import { jsonParam, sqlStatus, statusIn, timeParam, unindexed } from "./fragments.js";

const { STATUS, cascadeError, cascadeEvent, resolvesDependency } = storeRules;

/** The task fields that settling needs. */
export interface SettledTask {
  id: string;
  name: string;
  rootId: string;
  status: TaskStatus;
  executionId: string | null;
  /**
   * The node that completed it (its attempt's owner): a dependent it resolves whose execution
   * asked for dependency affinity (`place_follows`) is placed on that node.
   */
  owner?: string | null;
}

export function settledFromRow(row: TaskRow): SettledTask {
  return {
    id: row.id,
    name: row.name,
    rootId: row.root_id,
    status: row.status as TaskStatus,
    executionId: row.execution_id,
  };
}

/**
 * Book-keeping after tasks became terminal, in the caller's transaction, touching only their
 * dependents through the reverse index:
 * - count each against its execution in `ledger` (applied when the transaction ends);
 * - a completed task resolves one dependency of each pending dependent;
 * - a failed or cancelled one resolves its optional dependents and fails its required pending
 *   dependents with `DEPENDENCY_FAILED` naming it, which cascades in turn.
 * With `cascade: false` (a whole tree cancelled) only the counting is done.
 */
export async function settle(
  tx: SqlSession,
  done: readonly SettledTask[],
  at: string,
  events: NewEvent[],
  ledger: ExecutionLedger,
  options: { cascade: boolean; failedIds?: string[] } = { cascade: true },
): Promise<void> {
  if (!options.cascade) {
    for (const t of done) ledger.count(t.executionId, t.status);
    return;
  }
  const d = tx.dialect;
  const when = new Date(at);
  const queue = [...done];
  while (queue.length > 0) {
    const current = queue.shift() as SettledTask;
    ledger.count(current.executionId, current.status);
    // Which edges this end resolves: every edge when it resolves a required one, else the optional.
    const ok = resolvesDependency(true, current.status);
    const follow = ok && current.owner !== undefined && current.owner !== null;
    await tx.run(
      `UPDATE tasks SET unresolved = unresolved - 1${follow ? ", placed_on = CASE WHEN place_follows THEN ? ELSE placed_on END" : ""}
        WHERE id IN (SELECT task_id FROM task_dependencies WHERE depends_on_id = ?${ok ? "" : " AND required = false"})
          AND ${statusIn(unindexed(d, "status"), STATUS.queued)} AND ${unindexed(d, "unresolved", "int")} > 0`,
      follow ? [current.owner as string, current.id] : [current.id],
    );
    if (ok) continue;
    const error = cascadeError(current);
    const failed = await tx.all<TaskRow>(
      `UPDATE tasks SET status = ${sqlStatus("failed")}, error = ${jsonParam(d)}, completed_at = ${timeParam(d)},
              updated_at = ${timeParam(d)}
        WHERE id IN (SELECT task_id FROM task_dependencies WHERE depends_on_id = ? AND required = true)
          AND ${statusIn(unindexed(d, "status"), STATUS.failableByCascade)}
        RETURNING *`,
      [JSON.stringify(error), when, when, current.id],
    );
    for (const row of byOrdinal(failed)) {
      const dependent = settledFromRow(row);
      events.push(
        cascadeEvent({ taskId: dependent.id, rootId: dependent.rootId, executionId: dependent.executionId }, error, at),
      );
      options.failedIds?.push(dependent.id);
      queue.push(dependent);
    }
  }
}
