import {
  type Execution,
  type NewEvent,
  NotFoundError,
  notWaitingError,
  storeRules,
  type Task,
  type TaskWait,
  type WaitAnswer,
  type WaitingQuery,
} from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import { EXTRA, taskFromValues, taskSelect, taskValues } from "../store/rows.js";
import type { ExecutionLedger } from "./execution-accounting.js";
import { jsonParam, sqlStatus, statusIn, timeParam } from "./fragments.js";
import { settle } from "./settle.js";

const { WAITING, decideAnswer, decideExpiry, resumedEvent, waitingEvent, waitExpiredEvent } = storeRules;

/**
 * Waiting tasks (docs/semantics.md#waiting): answering one, finding those a signal answers, and
 * applying the deadline. Each write is conditional on `status = 'waiting'` (and reads the row
 * locked: `FOR UPDATE` on PostgreSQL, SQLite's transactions are `BEGIN IMMEDIATE`), so of
 * concurrent answers or expiries exactly one applies.
 */

const IS_WAITING = statusIn("status", [WAITING]);
const EXTRAS = ["execution_id", "ordinal"];

interface Held {
  task: Task;
  executionId: string | null;
}

function held(tx: SqlSession, rows: unknown[][]): Held[] {
  return taskValues(tx.dialect, rows).map((v) => ({
    task: taskFromValues(v),
    executionId: (v[EXTRA] ?? null) as string | null,
  }));
}

export async function resumeTask(
  tx: SqlSession,
  taskId: string,
  answer: WaitAnswer,
  now: Date,
): Promise<{ task: Task; resumed: boolean; events: NewEvent[] }> {
  const d = tx.dialect;
  const lock = d === "postgres" ? " FOR UPDATE" : "";
  const [row] = held(tx, await tx.values(`SELECT ${taskSelect(d, EXTRAS)} FROM tasks WHERE id = ?${lock}`, [taskId]));
  if (!row) throw new NotFoundError("task", taskId);
  const { task } = row;
  if (task.status !== WAITING || task.wait === null) throw notWaitingError(taskId, task.status);
  const decided = decideAnswer(taskId, task.wait, answer);
  const at = now.toISOString();
  const set = decided.resumes ? `status = ${sqlStatus("pending")}, completed_at = NULL, ` : "";
  const changed = await tx.run(
    `UPDATE tasks SET ${set}wait = ${jsonParam(d)}, updated_at = ${timeParam(d)} WHERE id = ? AND ${IS_WAITING}`,
    [JSON.stringify(decided.wait), now, taskId],
  );
  if (changed === 0) throw notWaitingError(taskId, "no longer waiting");
  const subject = { taskId, rootId: task.rootId, executionId: row.executionId };
  const written: Task = { ...task, wait: decided.wait, updatedAt: at };
  if (!decided.resumes) return { task: written, resumed: false, events: [waitingEvent(subject, decided.wait, at)] };
  const last = decided.wait.answers[decided.wait.answers.length - 1] as WaitAnswer;
  return {
    task: { ...written, status: "pending" },
    resumed: true,
    events: [resumedEvent(subject, last, at)],
  };
}

export async function findWaiting(db: SqlSession, query: WaitingQuery): Promise<Task[]> {
  const where = [IS_WAITING, "wait_event = ?"];
  const params: SqlValue[] = [query.event];
  const key = query.key ?? null;
  if (key === null) where.push("wait_key IS NULL");
  else {
    where.push("wait_key = ?");
    params.push(key);
  }
  if (query.userId !== undefined) {
    if (query.userId === null) where.push("user_id IS NULL");
    else {
      where.push("user_id = ?");
      params.push(query.userId);
    }
  }
  params.push(query.limit ?? 1000);
  const rows = await db.values(
    `SELECT ${taskSelect(db.dialect)} FROM tasks WHERE ${where.join(" AND ")} ORDER BY ordinal LIMIT ?`,
    params,
  );
  return taskValues(db.dialect, rows).map(taskFromValues);
}

/** Whether any wait is due: one indexed read outside a transaction (every engine polls this). */
export async function anyWaitDue(db: SqlSession, now: Date): Promise<boolean> {
  const rows = await db.values(
    `SELECT 1 FROM tasks WHERE ${IS_WAITING} AND wait_deadline <= ${timeParam(db.dialect)} LIMIT 1`,
    [now],
  );
  return rows.length > 0;
}

/**
 * Apply `onTimeout` to waits whose deadline passed. PostgreSQL skips rows another engine's expiry
 * holds (`SKIP LOCKED`); every UPDATE is conditional on the task still waiting.
 */
export async function expireWaits(
  tx: SqlSession,
  now: Date,
  limit: number,
  ledger: ExecutionLedger,
): Promise<{ tasks: Task[]; events: NewEvent[]; finished: Execution[] }> {
  const d = tx.dialect;
  const lock = d === "postgres" ? " FOR UPDATE SKIP LOCKED" : "";
  const due = held(
    tx,
    await tx.values(
      `SELECT ${taskSelect(d, EXTRAS)} FROM tasks WHERE ${IS_WAITING} AND wait_deadline <= ${timeParam(d)}
        ORDER BY ordinal LIMIT ?${lock}`,
      [now, limit],
    ),
  );
  const at = now.toISOString();
  const events: NewEvent[] = [];
  const tasks: Task[] = [];
  for (const { task, executionId } of due) {
    const decided = decideExpiry(task.wait as TaskWait, at);
    const subject = { taskId: task.id, rootId: task.rootId, executionId };
    if (decided.status === "failed") {
      const changed = await tx.run(
        `UPDATE tasks SET status = ${sqlStatus("failed")}, error = ${jsonParam(d)}, completed_at = ${timeParam(d)},
                updated_at = ${timeParam(d)} WHERE id = ? AND ${IS_WAITING}`,
        [JSON.stringify(decided.error), now, now, task.id],
      );
      if (changed === 0) continue;
      events.push(waitExpiredEvent(subject, decided.error, at));
      await settle(
        tx,
        [{ id: task.id, name: task.name, rootId: task.rootId, status: "failed", executionId }],
        at,
        events,
        ledger,
      );
      tasks.push({ ...task, status: "failed", error: decided.error, completedAt: at, updatedAt: at });
    } else {
      const changed = await tx.run(
        `UPDATE tasks SET status = ${sqlStatus("pending")}, wait = ${jsonParam(d)}, updated_at = ${timeParam(d)}
          WHERE id = ? AND ${IS_WAITING}`,
        [JSON.stringify(decided.wait), now, task.id],
      );
      if (changed === 0) continue;
      events.push(resumedEvent(subject, null, at));
      tasks.push({ ...task, status: "pending", wait: decided.wait, updatedAt: at });
    }
  }
  return { tasks, events, finished: [] };
}
