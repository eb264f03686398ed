import type { LimitBlock } from "../limits/gate.js";
import type { LimitScope } from "../limits/types.js";
import { describeLimitBlock } from "../limits/why.js";
import type { AttemptRecord } from "../store/types.js";
import { executorIdOf } from "../tree/executor-id.js";
import type { Execution, Task, TaskStatus } from "../types.js";

/**
 * Why a pending task has not started, and since when (docs/semantics.md#retry, "why is it waiting"). One pure
 * function computes it from what every store can read: the task, its dependencies, its attempts
 * and its tree's execution. Reasons are a closed union keyed by `reason`; reasons that need more
 * (a concurrency limit's rule, a node able to run the executor) are added as new members.
 */
export type WaitingReason = Waiting["reason"];

interface WaitingBase {
  /** One line for people. */
  detail: string;
  /** When this reason began (ISO-8601 UTC). */
  since: string;
}

/** A dependency the task still waits for. */
export interface UnfinishedDependency {
  id: string;
  name: string | null;
  status: TaskStatus | "missing";
  required: boolean;
}

export type Waiting =
  /** Some dependencies have not finished (required: not completed; optional: not terminal). */
  | (WaitingBase & { reason: "dependencies"; dependencies: UnfinishedDependency[] })
  /** Its `runAt` is in the future. */
  | (WaitingBase & { reason: "run_at"; runAt: string })
  /** A failed attempt is waiting out its retry backoff. */
  | (WaitingBase & { reason: "retry_backoff"; retryAt: string; attempt: number; errorCode: string | null })
  /** No running execution queued it: execute its tree (or the task) to run it. */
  | (WaitingBase & { reason: "not_executing" })
  /** Eligible, but a limit has no room for it (docs/semantics.md#limits): the rule and its key. */
  | (WaitingBase & {
      reason: "limit";
      scope: LimitScope;
      /** The rule's key; null when the scope's default rule applies. */
      ruleKey: string | null;
      /** What the task counts under: its user id, root id or executor id (null for global). */
      key: string | null;
      kind: LimitBlock["kind"];
      executionId: string;
    })
  /** Eligible: waiting for a free worker slot (a claim). */
  | (WaitingBase & { reason: "queued"; executionId: string })
  /**
   * Eligible, but no live node (node registry) runs its executor, or none that does holds every
   * tag its `placement.requires` names (`missingTags`: the tags no such node has): start one.
   */
  | (WaitingBase & {
      reason: "no_capable_node";
      executionId: string;
      /** Its executor id (null for a grouping task, which needs tags only). */
      executor: string | null;
      /** The required tags no live node with the executor holds (empty: the executor is missing). */
      missingTags: string[];
    })
  /**
   * Eligible and placed on a node that holds it (docs/architecture.md#placement): the other
   * nodes leave it alone, and that node takes it at its next free slot.
   */
  | (WaitingBase & { reason: "placed_on_node"; executionId: string; nodeId: string })
  /** Status `waiting`: its executor asked for an answer (`tasks.resume`); `until` is the deadline. */
  | (WaitingBase & { reason: "input"; prompt: string; until: string | null; answers: number; required: number })
  /** Status `waiting` for a named event (`tasks.signal`). */
  | (WaitingBase & {
      reason: "event";
      prompt: string;
      event: string;
      key: string | null;
      until: string | null;
      answers: number;
      required: number;
    });

export const WAITING_REASONS = [
  "dependencies",
  "run_at",
  "retry_backoff",
  "not_executing",
  "limit",
  "queued",
  "no_capable_node",
  "placed_on_node",
  "input",
  "event",
] as const;

/** The reason of a task in status `waiting` (what it waits for, since, until). */
export function waitReason(task: Pick<Task, "status" | "wait">): Waiting | null {
  const wait = task.wait;
  if (task.status !== "waiting" || !wait) return null;
  const until = wait.deadline ?? null;
  const required = wait.required ?? 1;
  const answers = wait.answers.length;
  const tail = `${required > 1 ? ` (${answers} of ${required} answers)` : ""}${until ? `, until ${until}` : ""}`;
  if (wait.event !== undefined) {
    return {
      reason: "event",
      detail: `waiting for event ${wait.event}${wait.key !== undefined ? ` (key ${wait.key})` : ""}: ${wait.prompt}${tail}`,
      since: wait.since,
      prompt: wait.prompt,
      event: wait.event,
      key: wait.key ?? null,
      until,
      answers,
      required,
    };
  }
  return {
    reason: "input",
    detail: `waiting for input: ${wait.prompt}${tail}`,
    since: wait.since,
    prompt: wait.prompt,
    until,
    answers,
    required,
  };
}

type DependencyLike = Pick<Task, "id" | "name" | "status" | "completedAt">;

export interface WaitingInput {
  task: Task;
  /** The task's dependencies as stored now (any order; a missing one counts as unfinished). */
  dependencies: readonly DependencyLike[];
  /** Its attempt history (`TaskStore.getAttempts`). */
  attempts: readonly AttemptRecord[];
  /** The tree's running execution, else its latest one, else null. */
  execution: Execution | null;
  /**
   * Whether the running execution queued this task (its run set holds it). Default: the execution
   * was started on the tree's root after the task was created; callers that know the run set
   * (an execution of one task inside the tree) pass it — see `queuedByExecution`.
   */
  queued?: boolean;
  /** The `runAt` of the tree's root (it holds back the whole tree); omitted for a root. */
  rootRunAt?: string | null;
  /** The limit that keeps it back, if any (`limitBlockFor`); only asked for an eligible task. */
  limit?: LimitBlock | null;
  /**
   * Executor ids some live node that claims can run (`capableExecutors`): an eligible task whose
   * executor is not among them waits for `no_capable_node`. Omitted or null: not known (no node
   * registry, or no node registered), and the task is `queued`.
   */
  capable?: ReadonlySet<string> | null;
  /**
   * The live nodes that claim (`liveNodes`): an eligible task requiring tags no live node with
   * its executor holds waits for `no_capable_node`; one placed on a node that holds it, for
   * `placed_on_node`. Omitted or null: not known (the task is `queued`).
   */
  nodes?: readonly LiveNode[] | null;
  now: Date;
}

/** A node that claims (not dead, not draining, concurrency above 0), as why-waiting reads it. */
export interface LiveNode {
  nodeId: string;
  executors: readonly string[];
  tags: readonly string[];
  /** Whether it holds the tasks placed on it (core's store rules, `holdsPlaced`). */
  holds: boolean;
}

/** Whether a running execution's run set holds a task, from the tree (docs/semantics.md#re-execution). */
export function queuedByExecution(
  task: Pick<Task, "id" | "createdAt">,
  execution: Pick<Execution, "status" | "taskId" | "rootId" | "createdAt">,
  tree?: readonly Pick<Task, "id" | "status" | "dependencies">[],
): boolean {
  if (execution.status !== "running") return false;
  // Tasks created after the execution started are not in its run set.
  if (task.createdAt > execution.createdAt) return false;
  if (execution.taskId === execution.rootId) return true;
  if (!tree) return task.id === execution.taskId;
  // An execution of one task runs it and what it needs (transitively) that was not completed.
  const byId = new Map(tree.map((t) => [t.id, t]));
  const seen = new Set<string>();
  const stack = [execution.taskId];
  while (stack.length > 0) {
    const id = stack.pop() as string;
    if (seen.has(id)) continue;
    seen.add(id);
    if (id === task.id) return true;
    for (const dep of byId.get(id)?.dependencies ?? []) stack.push(dep.id);
  }
  return false;
}

/** The latest of ISO timestamps (same format, so they order as strings); "" when none is given. */
function latest(...times: Array<string | null | undefined>): string {
  let out = "";
  for (const t of times) if (typeof t === "string" && t > out) out = t;
  return out;
}

/** Why a task waits, or null when it is neither pending nor waiting (running or finished tasks do not wait). */
export function whyWaiting(input: WaitingInput): Waiting | null {
  const { task, execution, now } = input;
  if (task.status === "waiting") return waitReason(task);
  if (task.status !== "pending") return null;
  const running = execution?.status === "running" ? execution : null;
  const queued = running !== null && (input.queued ?? queuedByExecution(task, running));

  if (!running || !queued) {
    const since = latest(task.createdAt, execution?.finishedAt, running ? null : execution?.createdAt);
    return {
      reason: "not_executing",
      detail: running
        ? `execution ${running.id} does not run this task (it runs ${running.taskId}); execute it to run it`
        : "no running execution queued it; execute its tree to run it",
      since: since || task.createdAt,
    };
  }

  const queuedAt = latest(task.createdAt, running.createdAt);
  const byId = new Map(input.dependencies.map((d) => [d.id, d]));
  const unfinished: UnfinishedDependency[] = [];
  let resolvedAt = "";
  for (const dep of task.dependencies) {
    const found = byId.get(dep.id);
    const done = found !== undefined && (dep.required ? found.status === "completed" : isFinished(found.status));
    if (done) resolvedAt = latest(resolvedAt, found?.completedAt);
    else
      unfinished.push({
        id: dep.id,
        name: found?.name ?? null,
        status: found?.status ?? "missing",
        required: dep.required,
      });
  }
  if (unfinished.length > 0) {
    const list = unfinished.map((d) => `${d.name ?? d.id} (${d.status}${d.required ? "" : ", optional"})`);
    return {
      reason: "dependencies",
      detail: `waiting for ${unfinished.length} ${unfinished.length === 1 ? "dependency" : "dependencies"}: ${list.join(", ")}`,
      since: queuedAt,
      dependencies: unfinished,
    };
  }
  // Ready as far as the tree goes from here: queued and every dependency resolved.
  const readyAt = latest(queuedAt, resolvedAt);

  const due = task.runAt === null || Date.parse(task.runAt) <= now.getTime();
  const last = input.attempts.reduce<AttemptRecord | null>((a, b) => (!a || b.attempt > a.attempt ? b : a), null);
  const retried =
    last !== null &&
    last.status !== "completed" &&
    last.status !== "in_progress" &&
    last.endedAt !== null &&
    last.endedAt >= running.createdAt;
  if (!due && task.runAt !== null) {
    if (retried && last) {
      return {
        reason: "retry_backoff",
        detail: `attempt ${last.attempt} failed${last.error ? ` (${last.error.code})` : ""}; attempt ${last.attempt + 1} at ${task.runAt}`,
        since: latest(readyAt, last.endedAt),
        retryAt: task.runAt,
        attempt: last.attempt,
        errorCode: last.error?.code ?? null,
      };
    }
    return { reason: "run_at", detail: `runs at ${task.runAt}`, since: readyAt, runAt: task.runAt };
  }
  const rootRunAt = input.rootRunAt ?? null;
  if (rootRunAt !== null && Date.parse(rootRunAt) > now.getTime()) {
    return { reason: "run_at", detail: `its tree's root runs at ${rootRunAt}`, since: readyAt, runAt: rootRunAt };
  }
  const since = latest(readyAt, task.runAt, retried ? last?.endedAt : null);
  const nodes = input.nodes ?? null;
  const capable = input.capable ?? (nodes ? new Set(nodes.flatMap((n) => n.executors)) : null);
  const executor = capable || nodes ? executorIdOf(task).id : null;
  if (executor !== null && capable && !capable.has(executor)) {
    return {
      reason: "no_capable_node",
      detail: `eligible in execution ${running.id}, but no live node runs executor ${executor}; start a node that has it`,
      since,
      executionId: running.id,
      executor,
      missingTags: [],
    };
  }
  const requires = task.placement?.requires ?? [];
  if (nodes && requires.length > 0) {
    // The node with the executor that lacks the fewest of the required tags, and what it lacks.
    let missing: string[] | null = null;
    for (const n of nodes) {
      if (executor !== null && !n.executors.includes(executor)) continue;
      const lacks = requires.filter((t) => !n.tags.includes(t));
      if (missing === null || lacks.length < missing.length) missing = lacks;
    }
    if (missing === null) missing = [...requires];
    if (missing.length > 0) {
      return {
        reason: "no_capable_node",
        detail: `eligible in execution ${running.id}, but no live node${executor === null ? "" : ` running executor ${executor}`} has the tags it requires (missing: ${missing.join(", ")}); start a node that has them`,
        since,
        executionId: running.id,
        executor,
        missingTags: missing,
      };
    }
  }
  if (input.limit) {
    const block = input.limit;
    return {
      reason: "limit",
      detail: describeLimitBlock(block),
      since,
      scope: block.scope,
      ruleKey: block.ruleKey ?? null,
      key: block.scope === "global" ? null : block.key,
      kind: block.kind,
      executionId: running.id,
    };
  }
  const placedOn = task.placedOn;
  if (placedOn !== null && nodes?.some((n) => n.nodeId === placedOn && n.holds)) {
    return {
      reason: "placed_on_node",
      detail: `eligible in execution ${running.id}, placed on node ${placedOn}, which holds it: it runs there at its next free slot`,
      since,
      executionId: running.id,
      nodeId: placedOn,
    };
  }
  return {
    reason: "queued",
    detail: `eligible in execution ${running.id}, waiting for a free worker slot`,
    since,
    executionId: running.id,
  };
}

function isFinished(status: TaskStatus): boolean {
  return status === "completed" || status === "failed" || status === "cancelled";
}
