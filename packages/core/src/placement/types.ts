import type { NodeView } from "../nodes/types.js";

/**
 * Placement: which node runs a task (docs/architecture.md#placement). Claiming stays a pull: every
 * node claims with `FOR UPDATE SKIP LOCKED`, and placement only says which ready tasks a node
 * leaves alone.
 *
 * - **capability** (always on): a node claims only tasks whose executor it has
 *   (`ClaimOptions.executors`) and whose required tags it holds (`TaskPlacement.requires` ⊆
 *   `ClaimOptions.tags`).
 * - **preference**: a task may be *placed on* a node (`Task.placedOn`). Other nodes leave it alone
 *   while that node *holds* it: registered, heartbeating (3 beats), not draining, and with a free
 *   slot at its last beat. Otherwise any capable node takes it — a preference never strands work.
 *
 * Where preferences come from: the strategy of the execution (computed when it starts, from the
 * node registry: round-robin, least-loaded, resource tags, a custom function; per task, sub-tree
 * or root) and, with dependency affinity, the store itself: a task whose last dependency completes
 * is placed on the node that completed it.
 */

/** What a task declares about where it may and would rather run (`TaskInput.placement`). */
export interface TaskPlacement {
  /** Node tags the task needs: only a node holding every one claims it (hard, like executors). */
  requires?: string[];
  /** Node tags it would rather have (a named resource: `gpu`, `cache:eu`): soft, used by placement. */
  prefers?: string[];
}

/** The placement an execution starts with (`StartExecutionRequest.placement`, `SubmitStart.placement`). */
export interface ExecutionPlacement {
  /**
   * Task id → the node it is placed on. Tasks of the run set not named get no preference (a
   * re-run clears the preferences of an earlier execution).
   */
  assign?: Record<string, string>;
  /**
   * Dependency affinity: when a task's last unresolved dependency completes, the task is placed on
   * the node that completed it (unless `assign` placed it).
   */
  followDependencies?: boolean;
}

export const PLACEMENT_STRATEGIES = ["capability", "round-robin", "least-loaded", "affinity"] as const;
export type PlacementStrategyName = (typeof PLACEMENT_STRATEGIES)[number];

export const PLACEMENT_GRANULARITIES = ["task", "subtree", "root"] as const;
/** What is placed as one: each task, each branch under the root (a branch sticks to one node), or the whole tree. */
export type PlacementGranularity = (typeof PLACEMENT_GRANULARITIES)[number];

/** A task as placement sees it. */
export interface PlacementTask {
  id: string;
  parentId: string | null;
  rootId: string;
  /** Its executor id (`executorIdOf`), or null for a grouping task. */
  executor: string | null;
  placement: TaskPlacement | null;
}

/** One unit to place: the tasks that go to one node. */
export interface PlacementUnit {
  granularity: PlacementGranularity;
  /** The unit's top task (the task itself, the branch's head, or the root). */
  head: PlacementTask;
  tasks: PlacementTask[];
}

/**
 * A custom strategy: the node id to place the unit on (one of `nodes`: live, not draining, with
 * every executor and required tag of the unit's head), or null for no preference.
 */
export type PlacementFunction = (unit: PlacementUnit, nodes: NodeView[]) => string | null | undefined;

export interface PlacementOptions {
  /** Default `capability` (no preference: whichever capable node is free first). */
  strategy?: PlacementStrategyName | PlacementFunction;
  /** Default `task`. */
  granularity?: PlacementGranularity;
}
