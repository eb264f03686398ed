import { type Execution, type NewEvent, storeRules, type TaskStatus } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { type ExecutionRow, executionFromRow } from "../store/rows.js";
import { timeParam } from "./fragments.js";

/**
 * Tasks that became terminal in one transaction, counted per execution. Applied once, at the end
 * of the transaction: one UPDATE per execution (the execution row is every finishing write's
 * common row, so it is locked as briefly as possible). The write that brings `remaining` to 0
 * finishes the execution and appends its one `tree.finished` event; the row lock of that UPDATE
 * makes it exactly once.
 */
export class ExecutionLedger {
  private readonly counts = new Map<string, { done: number; failed: number }>();

  count(executionId: string | null, status: TaskStatus): void {
    if (executionId === null) return;
    let entry = this.counts.get(executionId);
    if (!entry) this.counts.set(executionId, (entry = { done: 0, failed: 0 }));
    entry.done++;
    if (storeRules.countsAsProblem(status)) entry.failed++;
  }

  /** Add another ledger's counts (a batch item that succeeded). */
  merge(other: ExecutionLedger): void {
    for (const [id, c] of other.counts) {
      const entry = this.counts.get(id);
      if (entry) {
        entry.done += c.done;
        entry.failed += c.failed;
      } else this.counts.set(id, { ...c });
    }
  }

  async apply(tx: SqlSession, at: string, events: NewEvent[], finished: Execution[]): Promise<void> {
    // Executions in id order (core's orderFinished): the order of their tree.finished events, and
    // one lock order for every transaction.
    const ids = storeRules.orderFinished([...this.counts.keys()].map((id) => ({ id }))).map((e) => e.id);
    for (const executionId of ids) {
      const c = this.counts.get(executionId) as { done: number; failed: number };
      const rows = await tx.all<ExecutionRow>(
        `UPDATE executions SET remaining = remaining - ?, failed = failed + ?
          WHERE id = ? AND status = 'running' RETURNING *`,
        [c.done, c.failed, executionId],
      );
      const row = rows[0];
      if (row && Number(row.remaining) <= 0) finished.push(await finishExecution(tx, row, at, events));
    }
    this.counts.clear();
  }
}

/** Close a running execution: cancelled if asked, failed if anything did not complete. */
export async function finishExecution(
  tx: SqlSession,
  row: ExecutionRow,
  at: string,
  events: NewEvent[],
): Promise<Execution> {
  const current = executionFromRow(row);
  const status = storeRules.executionFinalStatus(current.cancelRequested, Number(row.failed));
  await tx.run(`UPDATE executions SET status = ?, finished_at = ${timeParam(tx.dialect)}, remaining = 0 WHERE id = ?`, [
    status,
    new Date(at),
    current.id,
  ]);
  events.push(storeRules.treeFinishedEvent(current, status, at));
  return { ...current, status, remaining: 0, finishedAt: at };
}

/**
 * Finish the executions a statement brought to zero remaining tasks (PostgreSQL's completion
 * statement counts them itself), in id order like `ExecutionLedger.apply`.
 */
export async function finishZeroed(
  tx: SqlSession,
  ids: readonly string[],
  at: string,
  events: NewEvent[],
  finished: Execution[],
): Promise<void> {
  if (ids.length === 0) return;
  for (const { id } of storeRules.orderFinished(ids.map((id) => ({ id })))) {
    const rows = await tx.all<ExecutionRow>("SELECT * FROM executions WHERE id = ? AND status = 'running'", [id]);
    const row = rows[0];
    if (row && Number(row.remaining) <= 0) finished.push(await finishExecution(tx, row, at, events));
  }
}
