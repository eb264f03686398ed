import {
  type Execution,
  type NewEvent,
  type NewTask,
  planRunSet,
  type StartExecutionRequest,
  storeRules,
  type SubmitStart,
  type Task,
} from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import { chunks, IN_CHUNK, marks, statusIn, timeParam } from "./fragments.js";
import { insertTasks } from "./insert-tasks.js";
import { startExecution, writeAssigned } from "./start-execution.js";

const { QUEUE_RESET, STATUS, placementPlan, treeStartedEvent } = storeRules;

const EXECUTIONS_PER_INSERT = 200;

/**
 * Store new trees and start an execution of each root in the caller's transaction. Trees that
 * arrive wholly pending (what `submit` makes) are queued together with a fixed number of
 * statements, whatever their number (PostgreSQL: column arrays, one statement each; SQLite: per
 * 200 executions / 100 tasks): INSERT the tasks already queued by their execution, INSERT the
 * executions, UPDATE counting the unresolved dependencies of the tasks that have any. Their
 * run set is still core's `planRunSet` (every task of a fresh tree). A submission with tasks
 * that arrive finished takes `startExecution` per tree, which resets and records those.
 */
export async function submitTrees(
  tx: SqlSession,
  tasks: readonly NewTask[],
  starts: readonly SubmitStart[],
  at: string,
): Promise<{ tasks: Task[]; executions: Execution[]; events: NewEvent[] }> {
  const fresh = tasks.every((t) => t.status === "pending");
  if (!fresh) {
    const executions: Execution[] = [];
    const created = await insertTasks(tx, tasks, at);
    const events = [...created.events];
    for (const s of starts) {
      const request: StartExecutionRequest = {
        taskId: s.rootId,
        rerun: "failed",
        demo: s.demo ?? false,
        executionId: s.executionId,
        now: new Date(at),
      };
      if (s.userId !== undefined) request.userId = s.userId;
      if (s.placement !== undefined) request.placement = s.placement;
      const started = await startExecution(tx, request, at);
      executions.push(started.execution);
      for (const e of started.events) events.push(e);
    }
    return { tasks: created.tasks, executions, events };
  }

  const d = tx.dialect;
  const { executions, executionOf, placed } = planFreshTrees(tasks, starts, at);
  const created = await insertTasks(tx, tasks, at, executionOf);
  const events = [...created.events];

  let ordinal = 0;
  if (d === "sqlite") {
    const [{ next }] = (await tx.all<{ next: unknown }>(
      "SELECT COALESCE(MAX(ordinal), 0) + 1 AS next FROM executions",
    )) as [{ next: unknown }];
    ordinal = Number(next);
  }
  const when = new Date(at);
  if (d === "postgres") {
    const columns: SqlValue[][] = [[], [], [], [], []];
    for (const e of executions)
      [e.id, e.rootId, e.total, e.demo, e.userId].forEach((v, i) => {
        columns[i]?.push(v);
      });
    await tx.run(
      `INSERT INTO executions (id, root_id, task_id, status, cancel_requested, remaining, total, failed, demo, user_id, created_at, ordinal)
       SELECT v.id, v.root_id, v.root_id, 'running', false, v.total, v.total, 0, v.demo, v.user_id, ${timeParam(d)},
              nextval('executions_ordinal_seq')
         FROM unnest(?::text[], ?::text[], ?::int[], ?::boolean[], ?::text[]) WITH ORDINALITY AS v(id, root_id, total, demo, user_id, n)
        ORDER BY v.n`,
      [when, ...columns] as unknown as SqlValue[],
    );
  }
  const row = `(?, ?, ?, 'running', false, ?, ?, 0, ?, ?, ?, ?)`;
  for (const batch of d === "postgres" ? [] : chunks(executions, EXECUTIONS_PER_INSERT)) {
    const params: SqlValue[] = [];
    for (const e of batch)
      params.push(e.id, e.rootId, e.taskId, e.remaining, e.total, e.demo, e.userId, when, ordinal++);
    await tx.run(
      `INSERT INTO executions (id, root_id, task_id, status, cancel_requested, remaining, total, failed, demo, user_id, created_at, ordinal)
       VALUES ${batch.map(() => row).join(", ")}`,
      params,
    );
  }
  // Only tasks with dependencies wait for any (the others keep the default 0).
  const waiting = tasks.filter((t) => t.dependencies.length > 0).map((t) => t.id);
  for (const batch of chunks(waiting, IN_CHUNK)) {
    await tx.run(
      `UPDATE tasks SET unresolved = (
          SELECT COUNT(*) FROM task_dependencies dep JOIN tasks up ON up.id = dep.depends_on_id
           WHERE dep.task_id = tasks.id
             AND ((dep.required = true AND ${statusIn("up.status", STATUS.resolvesRequired, true)})
               OR (dep.required = false AND ${statusIn("up.status", STATUS.resolvesOptional, true)})))
        WHERE id IN (${marks(batch.length)})`,
      batch,
    );
  }
  // Placement (docs/architecture.md#placement): written only for the starts that ask for any.
  for (const { executionId, plan } of placed) {
    if (plan.follows) await tx.run("UPDATE tasks SET place_follows = true WHERE execution_id = ?", [executionId]);
    await writeAssigned(tx, plan.assign, executionId);
  }
  for (const e of executions) events.push(treeStartedEvent(e.rootId, e.id, at));
  return { tasks: created.tasks, executions, events };
}

/**
 * The executions of a submission whose tasks are all pending (what `submit` makes): each root's
 * run set (core's `planRunSet`: every task of a fresh tree), and the execution each task is
 * queued by as it is written. Shared by `submitTrees` and `submitAtOnce` (PostgreSQL, one statement).
 */
/** A start that carries a placement, its plan checked against its tree. */
export interface PlacedStart {
  executionId: string;
  plan: storeRules.PlacementPlan;
}

export function planFreshTrees(
  tasks: readonly NewTask[],
  starts: readonly SubmitStart[],
  at: string,
): { executions: Execution[]; executionOf: Map<string, string>; placed: PlacedStart[] } {
  const executions: Execution[] = [];
  const placed: PlacedStart[] = [];
  const executionOf = new Map<string, string>();
  const byRoot = new Map<string, NewTask[]>();
  for (const t of tasks) {
    let list = byRoot.get(t.rootId);
    if (!list) byRoot.set(t.rootId, (list = []));
    list.push(t);
  }
  for (const s of starts) {
    const tree = byRoot.get(s.rootId);
    if (!tree) throw new Error(`submitTrees: no tasks of root ${s.rootId}`);
    if (s.placement !== undefined) {
      const ids = new Set(tree.map((t) => t.id));
      placed.push({ executionId: s.executionId, plan: placementPlan(s.placement, (id) => ids.has(id)) });
    }
    const runSet = planRunSet(tree, s.rootId, "failed");
    for (const id of runSet) executionOf.set(id, s.executionId);
    const root = tree.find((t) => t.id === s.rootId) as NewTask;
    executions.push({
      id: s.executionId,
      rootId: s.rootId,
      taskId: s.rootId,
      status: "running",
      cancelRequested: false,
      remaining: runSet.length,
      total: runSet.length,
      demo: s.demo ?? false,
      userId: s.userId === undefined ? root.userId : s.userId,
      createdAt: at,
      finishedAt: null,
    });
  }
  if (executions.some((e) => e.total === 0)) throw new Error("submitTrees: a fresh tree with nothing to run");
  // Each task is written queued already: its execution in the INSERT (the queue's other
  // columns start as `QUEUE_RESET` has them: no cancel request, no checkpoint, run_at as asked).
  if (
    QUEUE_RESET.cancelRequested ||
    QUEUE_RESET.checkpoint !== null ||
    QUEUE_RESET.wait !== null ||
    QUEUE_RESET.runAt !== "userRunAt"
  ) {
    throw new Error("submitTrees expects a queued task to start as it is created");
  }
  return { executions, executionOf, placed };
}
