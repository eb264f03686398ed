import {
  AlreadyExecutingError,
  type Execution,
  type JsonValue,
  type NewEvent,
  NotFoundError,
  planRunSet,
  type StartExecutionRequest,
  storeRules,
  type TaskDependency,
  type TaskStatus,
} from "@aipartnerupflow/core";
import { randomUUID } from "node:crypto";
import type { SqlSession, SqlValue } from "../db/types.js";
import { type ExecutionRow, executionFromRow, readJson } from "../store/rows.js";
import { chunks, IN_CHUNK, marks, statusIn, timeParam, unindexed } from "./fragments.js";
import { finishExecution } from "./execution-accounting.js";

const {
  RERUN_RESET,
  QUEUE_RESET,
  RUNNING,
  STATUS,
  executionIdTakenError,
  placementPlan,
  stillRunningError,
  treeStartedEvent,
} = storeRules;

/** The column of each field core's re-run reset writes (a field added there fails the build). */
const RERUN_COLUMNS: Record<keyof typeof RERUN_RESET, string> = {
  status: "status",
  result: "result",
  error: "error",
  progress: "progress",
  completedAt: "completed_at",
};
const RERUN_SET = Object.keys(RERUN_RESET)
  .map((k) => `${RERUN_COLUMNS[k as keyof typeof RERUN_RESET]} = ?`)
  .join(", ");
const RERUN_PARAMS = Object.values(RERUN_RESET) as SqlValue[];

/** The same for what every queued task starts with. */
const QUEUE_SET = [
  `cancel_requested = ${QUEUE_RESET.cancelRequested ? "true" : "false"}`,
  `checkpoint = ${QUEUE_RESET.checkpoint ?? "NULL"}`,
  `wait = ${QUEUE_RESET.wait ?? "NULL"}`,
  `run_at = ${QUEUE_RESET.runAt === "userRunAt" ? "user_run_at" : "run_at"}`,
].join(", ");

interface TreeRow {
  id: string;
  parent_id: string | null;
  status: string;
  dependencies: unknown;
}

/**
 * Start an execution in the caller's transaction: refuse a second running execution of the
 * tree, pick the run set (core's `planRunSet`, so every store agrees), reset its finished tasks,
 * queue them under the execution and count each one's unresolved dependencies.
 */
export async function startExecution(
  tx: SqlSession,
  request: StartExecutionRequest,
  at: string,
): Promise<{ execution: Execution; events: NewEvent[] }> {
  const d = tx.dialect;
  const [target] = await tx.all<{ root_id: string; user_id: string | null }>(
    "SELECT root_id, user_id FROM tasks WHERE id = ?",
    [request.taskId],
  );
  if (!target) throw new NotFoundError("task", request.taskId);
  const rootId = target.root_id;
  const [running] = await tx.all<{ id: string }>("SELECT id FROM executions WHERE root_id = ? AND status = 'running'", [
    rootId,
  ]);
  if (running) throw new AlreadyExecutingError(rootId, running.id);

  const tree = await tx.all<TreeRow>(
    "SELECT id, parent_id, status, dependencies FROM tasks WHERE root_id = ? ORDER BY ordinal",
    [rootId],
  );
  const runSet = planRunSet(
    tree.map((t) => ({
      id: t.id,
      parentId: t.parent_id,
      status: t.status as TaskStatus,
      dependencies: (readJson<JsonValue>(d, t.dependencies) as TaskDependency[] | null) ?? [],
    })),
    request.taskId,
    request.rerun ?? "failed",
  );
  const statusById = new Map(tree.map((t) => [t.id, t.status]));
  const plan = placementPlan(request.placement, (id) => statusById.has(id));
  for (const id of runSet) {
    if (statusById.get(id) === RUNNING) throw stillRunningError(id);
  }

  const executionId = request.executionId ?? randomUUID();
  const [taken] = await tx.all("SELECT id FROM executions WHERE id = ?", [executionId]);
  if (taken) throw executionIdTakenError(executionId);
  // PostgreSQL: a sequence (concurrent writers). SQLite: writers hold the database's one write
  // lock from BEGIN IMMEDIATE, so MAX + 1 read in the transaction cannot be read twice.
  const [{ next }] = (await tx.all<{ next: unknown }>(
    d === "postgres"
      ? "SELECT nextval('executions_ordinal_seq') AS next"
      : "SELECT COALESCE(MAX(ordinal), 0) + 1 AS next FROM executions",
  )) as [{ next: unknown }];
  // PostgreSQL: a concurrent start of the same tree may have inserted its running execution since
  // the check above; the insert then waits for it and, once it committed, inserts nothing (the
  // one-running index is the arbiter) — refused like the check refuses, naming that execution.
  const rows = await tx.all<ExecutionRow>(
    `INSERT INTO executions (id, root_id, task_id, status, cancel_requested, remaining, total, failed, demo, user_id, created_at, ordinal)
     VALUES (?, ?, ?, 'running', false, ?, ?, 0, ?, ?, ${timeParam(d)}, ?)
     ON CONFLICT (root_id) WHERE status = 'running' DO NOTHING RETURNING *`,
    [
      executionId,
      rootId,
      request.taskId,
      runSet.length,
      runSet.length,
      request.demo ?? false,
      request.userId === undefined ? target.user_id : request.userId,
      new Date(at),
      Number(next),
    ],
  );
  const row = rows[0];
  if (!row) {
    const [other] = await tx.all<{ id: string }>("SELECT id FROM executions WHERE root_id = ? AND status = 'running'", [
      rootId,
    ]);
    throw new AlreadyExecutingError(rootId, other?.id ?? "unknown");
  }

  const when = new Date(at);
  for (const batch of chunks(runSet, IN_CHUNK)) {
    await tx.run(
      `UPDATE tasks SET ${RERUN_SET}, updated_at = ${timeParam(d)}
        WHERE id IN (${marks(batch.length)}) AND ${statusIn(unindexed(d, "status"), STATUS.rerunnable)}`,
      [...RERUN_PARAMS, when, ...batch],
    );
    // Queued afresh (core's QUEUE_RESET): no cancel flag, no checkpoint of a previous run, and the
    // user's run_at instead of a previous run's retry backoff.
    // Placement (docs/architecture.md#placement): the run set's earlier preferences are cleared,
    // `assign` writes its own just below.
    await tx.run(
      `UPDATE tasks SET execution_id = ?, ${QUEUE_SET}, placed_on = NULL, place_follows = ?
        WHERE id IN (${marks(batch.length)})`,
      [executionId, plan.follows, ...batch],
    );
  }
  await writeAssigned(tx, plan.assign, executionId);
  await tx.run(
    `UPDATE tasks SET unresolved = (
        SELECT COUNT(*) FROM task_dependencies dep JOIN tasks up ON up.id = dep.depends_on_id
         WHERE dep.task_id = tasks.id
           AND ((dep.required = true AND ${statusIn("up.status", STATUS.resolvesRequired, true)})
             OR (dep.required = false AND ${statusIn("up.status", STATUS.resolvesOptional, true)})))
      WHERE execution_id = ? AND ${statusIn(unindexed(d, "status"), STATUS.queued)}`,
    [executionId],
  );

  const events: NewEvent[] = [treeStartedEvent(rootId, executionId, at)];
  const execution = runSet.length === 0 ? await finishExecution(tx, row, at, events) : undefined;
  return { execution: execution ?? executionFromRow(row), events };
}

/**
 * `placement.assign` of an execution: each named task of its run set (queued by `executionId`)
 * placed on its node, without dependency affinity (an assigned task stays where it was assigned).
 */
export async function writeAssigned(
  tx: SqlSession,
  assign: ReadonlyMap<string, string>,
  executionId: string,
): Promise<void> {
  const pg = tx.dialect === "postgres";
  for (const batch of chunks([...assign], IN_CHUNK / 2)) {
    await tx.run(
      `UPDATE tasks SET placed_on = v.${pg ? "node" : "column2"}, place_follows = false
         FROM (VALUES ${batch.map(() => (pg ? "(?::text, ?::text)" : "(?, ?)")).join(", ")}) AS v${pg ? "(id, node)" : ""}
        WHERE tasks.id = v.${pg ? "id" : "column1"} AND tasks.execution_id = ?`,
      [...batch.flat(), executionId],
    );
  }
}
