import { PAGE_SIZE, type Route } from "./route.js";
import type { RpcClient } from "./rpc.js";
import { emptyCounts, taskDurationMs, treeProgress } from "./tree-model.js";
import type { Execution, StatusCounts, Task, TaskDetail } from "./types.js";

export interface TreeRow {
  root: Task;
  counts: StatusCounts;
  total: number;
  /** Finished share, 0..1. */
  progress: number;
  /** The newest run of the tree (executions are what start and finish a tree). */
  execution: Execution | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
}

export interface TreesPage {
  rows: TreeRow[];
  /** Roots matching the filters (all pages). */
  total: number;
  offset: number;
  pageSize: number;
}

/** The most roots searched for a text filter (the API filters by status and user, not text). */
export const TEXT_SEARCH_WINDOW = 1000;

export function matchesText(task: Pick<Task, "id" | "name" | "userId">, q: string): boolean {
  const needle = q.trim().toLowerCase();
  if (!needle) return true;
  return (
    task.name.toLowerCase().includes(needle) ||
    task.id.toLowerCase().includes(needle) ||
    (task.userId ?? "").toLowerCase().includes(needle)
  );
}

/**
 * One page of trees: roots from `tasks.list` (newest first) filtered by status and user on the
 * server, by text here (over the newest TEXT_SEARCH_WINDOW roots), then their counts per status
 * and their newest run (`tasks.detail` of the root) in one JSON-RPC batch.
 */
export async function loadTrees(
  client: RpcClient,
  route: Extract<Route, { page: "trees" }>,
  now: number,
  signal?: AbortSignal,
): Promise<TreesPage> {
  const filters: Record<string, unknown> = { rootsOnly: true };
  if (route.status.length === 1) filters.status = route.status[0];
  else if (route.status.length > 1) filters.status = route.status;
  if (route.user) filters.userId = route.user;
  let roots: Task[];
  let total: number;
  if (route.q.trim()) {
    const all = await client.call<{ tasks: Task[]; total: number }>(
      "tasks.list",
      { ...filters, limit: TEXT_SEARCH_WINDOW, offset: 0 },
      signal,
    );
    const hits = all.tasks.filter((t) => matchesText(t, route.q));
    total = hits.length;
    roots = hits.slice(route.offset, route.offset + PAGE_SIZE);
  } else {
    const page = await client.call<{ tasks: Task[]; total: number }>(
      "tasks.list",
      { ...filters, limit: PAGE_SIZE, offset: route.offset },
      signal,
    );
    roots = page.tasks;
    total = page.total;
  }
  const answers = await client.batch<unknown>(
    roots.flatMap((r) => [
      { method: "tasks.count", params: { rootId: r.id } },
      { method: "tasks.detail", params: { taskId: r.id } },
    ]),
    signal,
  );
  const rows = roots.map((root, i) => treeRow(root, answers[2 * i], answers[2 * i + 1], now));
  return { rows, total, offset: route.offset, pageSize: PAGE_SIZE };
}

/** A row from a root and its batch answers (either may be an error: the row still shows the root). */
export function treeRow(root: Task, count: unknown, detail: unknown, now: number): TreeRow {
  const c = count && !(count instanceof Error) ? (count as { counts: StatusCounts; total: number }) : null;
  const counts = c ? c.counts : { ...emptyCounts(), [root.status]: 1 };
  const executions = detail && !(detail instanceof Error) ? (detail as TaskDetail).executions : [];
  let execution: Execution | null = null;
  for (const e of executions) if (!execution || e.createdAt >= execution.createdAt) execution = e;
  const startedAt = execution?.createdAt ?? root.startedAt;
  const finishedAt = execution ? execution.finishedAt : root.completedAt;
  return {
    root,
    counts,
    total: c ? c.total : 1,
    progress: treeProgress(counts),
    execution,
    startedAt,
    finishedAt,
    durationMs: taskDurationMs({ startedAt, completedAt: finishedAt }, now),
  };
}
