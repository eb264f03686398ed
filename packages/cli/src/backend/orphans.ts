import { hostname } from "node:os";
import type { Execution, TaskStore } from "@aipartnerupflow/core";

/**
 * Executions whose process is gone. An `apflow run` killed mid-tree leaves its execution
 * "running" with nobody working on it, and a new execution of the tree is refused as "already
 * executing". An execution is orphaned when none of its running tasks is held by a process that
 * may still be alive: leases are owned by `host:pid:random` (the engine's default owner), so a
 * holder on this host is alive only while its pid is; a holder on another host counts as alive
 * until its lease expires and the task goes back to pending.
 */
export async function orphanedExecutions(store: TaskStore, rootId: string): Promise<Execution[]> {
  const running = await store.listExecutions({ rootId, status: "running" });
  if (running.length === 0) return [];
  const inProgress = await store.listTasks({ rootId, status: "in_progress", limit: 10_000 });
  for (const task of inProgress.tasks) {
    const current = (await store.getAttempts(task.id)).at(-1);
    if (current && current.endedAt === null && holderMayBeAlive(current.owner)) return [];
  }
  return running;
}

/** Whether the owner named in a lease may still be running (false only when provably gone). */
export function holderMayBeAlive(owner: string | null): boolean {
  if (owner === null) return false;
  const parts = owner.split(":");
  if (parts.length < 3) return true;
  const pid = Number(parts[parts.length - 2]);
  const host = parts.slice(0, -2).join(":");
  if (host !== hostname() || !Number.isInteger(pid) || pid <= 0) return true;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
