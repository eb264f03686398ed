import type { JsonObject, TaskSchemas } from "../types.js";

/**
 * The executor a task names (docs/semantics.md#the-registry): `params.executorId`, then `schemas.method`. A task that
 * names none is a grouping task: it completes with a null result as soon as it is ready.
 */
export function executorIdOf(task: { params?: JsonObject; schemas?: TaskSchemas }): {
  id: string | null;
  error?: string;
} {
  const fromParams = task.params?.executorId;
  if (fromParams !== undefined && fromParams !== null) {
    return typeof fromParams === "string" && fromParams !== ""
      ? { id: fromParams }
      : { id: null, error: "params.executorId must be a non-empty string" };
  }
  const method = task.schemas?.method;
  if (method !== undefined && method !== null) {
    return typeof method === "string" && method !== ""
      ? { id: method }
      : { id: null, error: "schemas.method must be a non-empty string" };
  }
  return { id: null };
}
