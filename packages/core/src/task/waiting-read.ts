import { nodeState } from "../nodes/state.js";
import type { AttemptRecord, TaskStore } from "../store/types.js";
import type { Execution, Task } from "../types.js";
import type { LimitBlock } from "../limits/gate.js";
import { limitBlockFor } from "../limits/why.js";
import { holdsPlaced } from "../store/rules.js";
import { type LiveNode, queuedByExecution, type Waiting, waitReason, whyWaiting } from "./waiting.js";

/** A tree's running execution, else its newest one, else null. */
export async function treeExecution(store: TaskStore, rootId: string): Promise<Execution | null> {
  // A tree runs one execution at a time and a new one starts only after the last finished, so a
  // running execution is always the newest: one read answers both questions.
  const [newest] = await store.listExecutions({ rootId, limit: 1 });
  return newest ?? null;
}

/**
 * Executor ids some live node that claims can run, from the store's node registry (nodes not
 * dead, with a concurrency above 0): what `whyWaiting` needs for `no_capable_node`. Null when the
 * store has no registry or no node is registered (an engine outside any node: not known).
 */
export async function capableExecutors(store: TaskStore, now: Date): Promise<Set<string> | null> {
  if (!store.nodes) return null;
  const nodes = await store.nodes.list();
  if (nodes.length === 0) return null;
  const out = new Set<string>();
  for (const n of nodes) {
    if (n.concurrency === 0 || n.draining || nodeState(n, now) === "dead") continue;
    for (const id of n.executors) out.add(id);
  }
  return out;
}

/**
 * The live nodes that claim, from the store's node registry (not dead, not draining, with a
 * concurrency above 0), each with whether it holds the tasks placed on it at `now`: what
 * `whyWaiting` needs for required tags and `placed_on_node`. Null when the store has no registry
 * or no node is registered.
 */
export async function liveNodes(store: TaskStore, now: Date): Promise<LiveNode[] | null> {
  if (!store.nodes) return null;
  const nodes = await store.nodes.list();
  if (nodes.length === 0) return null;
  return nodes
    .filter((n) => n.concurrency > 0 && !n.draining && nodeState(n, now) !== "dead")
    .map((n) => ({ nodeId: n.nodeId, executors: n.executors, tags: n.tags, holds: holdsPlaced(n, now.getTime()) }));
}

/** `whyWaiting` for one task, read from a store (null unless the task is pending). */
export async function readWaiting(
  store: TaskStore,
  task: Task,
  now: Date,
  knownAttempts?: AttemptRecord[],
): Promise<Waiting | null> {
  if (task.status === "waiting") return waitReason(task);
  if (task.status !== "pending") return null;
  const [dependencies, attempts, execution, root] = await Promise.all([
    task.dependencies.length === 0 ? [] : store.getTasks(task.dependencies.map((d) => d.id)),
    // A task that never started has no attempts to read.
    knownAttempts ?? (task.attempt === 0 ? [] : store.getAttempts(task.id)),
    treeExecution(store, task.rootId),
    task.parentId === null ? null : store.getTask(task.rootId),
  ]);
  const tree =
    execution?.status === "running" && execution.taskId !== execution.rootId ? await store.getTree(task.rootId) : null;
  const input = {
    task,
    dependencies,
    attempts,
    execution,
    ...(tree ? { queued: queuedByExecution(task, execution as Execution, tree) } : {}),
    rootRunAt: root?.runAt ?? null,
    now,
  };
  const waiting = whyWaiting(input);
  // Only an otherwise eligible task can lack a capable node or be held by a limit: the node
  // registry and the limits are read only then.
  if (waiting?.reason !== "queued") return waiting;
  const [nodes, limit] = await Promise.all([liveNodes(store, now), limitBlockFor(store, task, now)]);
  return nodes || limit ? whyWaiting({ ...input, nodes, limit }) : waiting;
}

/**
 * `whyWaiting` for every pending task of a tree at once, from the tree itself, its execution and
 * the attempts of the tasks that ran before (`attempts` by task id; others have none).
 * `limitOf` (core's `limitCheckFor`) names the limit holding back an otherwise `queued` task.
 */
export function treeWaiting(
  tree: readonly Task[],
  execution: Execution | null,
  attempts: ReadonlyMap<string, AttemptRecord[]>,
  now: Date,
  capable: ReadonlySet<string> | null = null,
  limitOf: ((task: Task) => LimitBlock | null) | null = null,
  /** The live nodes (`liveNodes`): required tags and `placed_on_node`; null: not known. */
  nodes: readonly LiveNode[] | null = null,
): Map<string, Waiting> {
  const byId = new Map(tree.map((t) => [t.id, t]));
  const out = new Map<string, Waiting>();
  for (const task of tree) {
    if (task.status === "waiting") {
      const w = waitReason(task);
      if (w) out.set(task.id, w);
      continue;
    }
    if (task.status !== "pending") continue;
    const dependencies = task.dependencies.flatMap((d) => {
      const found = byId.get(d.id);
      return found ? [found] : [];
    });
    const queued = execution?.status === "running" ? queuedByExecution(task, execution, tree) : undefined;
    const input = {
      task,
      dependencies,
      attempts: attempts.get(task.id) ?? [],
      execution,
      ...(queued === undefined ? {} : { queued }),
      rootRunAt: task.parentId === null ? null : (byId.get(task.rootId)?.runAt ?? null),
      capable,
      nodes,
      now,
    };
    let w = whyWaiting(input);
    if ((w?.reason === "queued" || w?.reason === "placed_on_node") && limitOf) {
      const limit = limitOf(task);
      if (limit) w = whyWaiting({ ...input, limit });
    }
    if (w) out.set(task.id, w);
  }
  return out;
}
