import { NotFoundError, type Task } from "@aipartnerupflow/core";
import type { Principal } from "../types.js";

/** The anonymous administrator used when auth is off (local use). */
export const LOCAL_PRINCIPAL: Principal = Object.freeze({ userId: null, admin: true, authenticated: false });

/** Whether the caller may see and touch this task (docs/semantics.md#errors-and-auth: admins everything, others their own). */
export function canAccess(principal: Principal, task: Pick<Task, "userId">): boolean {
  return principal.admin || (task.userId !== null && task.userId === principal.userId);
}

/** A foreign task looks exactly like a missing one. */
export function assertAccess<T extends Pick<Task, "userId">>(principal: Principal, task: T | null, id: string): T {
  if (!task || !canAccess(principal, task)) throw new NotFoundError("task", id);
  return task;
}

/** The user filter for list and count queries: none for admins, the caller's id otherwise. */
export function ownerFilter(principal: Principal): { userId?: string | null } {
  return principal.admin ? {} : { userId: principal.userId };
}
