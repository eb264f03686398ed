import {
  executorIdOf,
  type JsonObject,
  NotFoundError,
  storeRules,
  type Task,
  type TaskPatch,
  type TaskSchemas,
  validatePatch,
} from "@aipartnerupflow/core";
import type { SqlSession, SqlValue } from "../db/types.js";
import { readJson, type TaskRow, taskFromRow, writeJson } from "../store/rows.js";
import { jsonParam, statusIn, timeParam } from "./fragments.js";

const { RUNNING, runningUpdateError: running } = storeRules;

/** Change what a task will do (core's `validatePatch` decides what is valid). Never while it runs. */
export async function updateTask(tx: SqlSession, id: string, patch: TaskPatch, now: Date): Promise<Task> {
  const d = tx.dialect;
  const [current] = await tx.all<{ status: string; params: unknown; schemas: unknown }>(
    "SELECT status, params, schemas FROM tasks WHERE id = ?",
    [id],
  );
  if (!current) throw new NotFoundError("task", id);
  if (current.status === RUNNING) throw running(id);
  const valid = validatePatch(patch);
  const sets: string[] = [];
  const params: SqlValue[] = [];
  const set = (column: string, value: SqlValue, placeholder = "?"): void => {
    sets.push(`${column} = ${placeholder}`);
    params.push(value);
  };
  const json = (column: string, value: unknown): void => set(column, writeJson(value), jsonParam(d));
  if (valid.name !== undefined) set("name", valid.name);
  if (valid.inputs !== undefined) json("inputs", valid.inputs);
  if (valid.params !== undefined) json("params", valid.params);
  if (valid.schemas !== undefined) json("schemas", valid.schemas);
  if (valid.metadata !== undefined) json("metadata", valid.metadata);
  if (valid.retry !== undefined) json("retry", valid.retry);
  if (valid.priority !== undefined) set("priority", valid.priority);
  if (valid.params !== undefined || valid.schemas !== undefined) {
    // The claim's executor column follows what the task now names.
    const params = valid.params ?? readJson<JsonObject>(d, current.params);
    const schemas = (valid.schemas ?? readJson<JsonObject>(d, current.schemas)) as TaskSchemas;
    set("executor", executorIdOf({ params, schemas }).id);
  }
  if (valid.runAt !== undefined) {
    const runAt = valid.runAt === null ? null : new Date(valid.runAt);
    sets.push(`run_at = ${timeParam(d)}`, `user_run_at = ${timeParam(d)}`);
    params.push(runAt, runAt);
  }
  sets.push(`updated_at = ${timeParam(d)}`);
  params.push(now);
  const [row] = await tx.all<TaskRow>(
    `UPDATE tasks SET ${sets.join(", ")} WHERE id = ? AND ${statusIn("status", [RUNNING], true)} RETURNING *`,
    [...params, id],
  );
  if (!row) throw running(id);
  return taskFromRow(d, row);
}
