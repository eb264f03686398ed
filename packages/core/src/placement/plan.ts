import { InvalidPlacementError } from "../errors.js";
import type { NodeView } from "../nodes/types.js";
import { canRun, compareIds, isLive } from "./eligible.js";
import {
  leastLoaded,
  mostPreferred,
  narrowToPreferred,
  notePlaced,
  type PlacementCursor,
  roundRobin,
} from "./strategies.js";
import {
  type ExecutionPlacement,
  PLACEMENT_GRANULARITIES,
  PLACEMENT_STRATEGIES,
  type PlacementFunction,
  type PlacementOptions,
  type PlacementStrategyName,
  type PlacementTask,
  type PlacementUnit,
} from "./types.js";
import { placementUnits } from "./units.js";

/**
 * Where an execution's tasks go (docs/architecture.md#strategies-and-granularity). Pure but for
 * `cursor` (round-robin turn, tasks placed per node), which the caller keeps across executions.
 *
 * For each unit (`granularity`) the strategy picks a node eligible for the unit's head (live, not
 * draining, with slots, its executor and every required tag); the unit's tasks that node cannot
 * run get no preference (any capable node takes them). `capability` places nothing.
 */
export function planPlacement(
  tasks: readonly PlacementTask[],
  nodes: readonly NodeView[],
  options: PlacementOptions,
  cursor: PlacementCursor,
): ExecutionPlacement {
  checkPlacementOptions(options);
  const strategy = options.strategy ?? "capability";
  if (strategy === "capability") return {};
  const assign: Record<string, string> = {};
  let assigned = 0;
  // Live nodes sorted by id once; per unit only those that can run its head (eligibleNodes).
  const live = nodes.filter(isLive).sort((a, b) => compareIds(a.nodeId, b.nodeId));
  for (const unit of placementUnits(tasks, options.granularity ?? "task")) {
    const eligible = live.filter((n) => canRun(n, unit.head));
    if (eligible.length === 0) continue;
    const node = choose(strategy, unit, eligible, cursor);
    if (!node) continue;
    let count = 0;
    for (const t of unit.tasks) {
      if (!canRun(node, t)) continue;
      assign[t.id] = node.nodeId;
      count += 1;
    }
    notePlaced(cursor, node, count);
    assigned += count;
  }
  const placement: ExecutionPlacement = {};
  if (assigned > 0) placement.assign = assign;
  if (strategy === "affinity") placement.followDependencies = true;
  return placement;
}

function choose(
  strategy: Exclude<PlacementStrategyName, "capability"> | PlacementFunction,
  unit: PlacementUnit,
  eligible: NodeView[],
  cursor: PlacementCursor,
): NodeView | undefined {
  const prefers = unit.head.placement?.prefers;
  switch (strategy) {
    case "round-robin":
      return roundRobin(cursor, narrowToPreferred(eligible, prefers));
    case "least-loaded":
      return leastLoaded(cursor, narrowToPreferred(eligible, prefers));
    case "affinity":
      // Units without a preferred resource follow their dependencies (the store does that).
      return leastLoaded(cursor, mostPreferred(eligible, prefers));
    default:
      return custom(strategy, unit, eligible);
  }
}

function custom(fn: PlacementFunction, unit: PlacementUnit, eligible: NodeView[]): NodeView | undefined {
  const chosen = fn(unit, eligible);
  if (chosen === null || chosen === undefined) return undefined;
  const node = typeof chosen === "string" ? eligible.find((n) => n.nodeId === chosen) : undefined;
  if (!node) {
    throw new InvalidPlacementError(
      `placement function chose ${JSON.stringify(chosen)} for task ${unit.head.id}, which is not an eligible node (eligible: ${
        eligible.map((n) => n.nodeId).join(", ") || "none"
      })`,
      { nodeId: typeof chosen === "string" ? chosen : String(chosen), taskId: unit.head.id },
    );
  }
  return node;
}

/** Refuse placement options that cannot work, naming the field. */
export function checkPlacementOptions(options: PlacementOptions, field = "placement"): void {
  const { strategy, granularity } = options;
  if (
    strategy !== undefined &&
    typeof strategy !== "function" &&
    !(PLACEMENT_STRATEGIES as readonly unknown[]).includes(strategy)
  ) {
    throw new InvalidPlacementError(
      `${field}.strategy must be one of ${PLACEMENT_STRATEGIES.join(", ")} or a function, got ${JSON.stringify(strategy)}`,
      { field: `${field}.strategy` },
    );
  }
  if (granularity !== undefined && !(PLACEMENT_GRANULARITIES as readonly unknown[]).includes(granularity)) {
    throw new InvalidPlacementError(
      `${field}.granularity must be one of ${PLACEMENT_GRANULARITIES.join(", ")}, got ${JSON.stringify(granularity)}`,
      { field: `${field}.granularity` },
    );
  }
}
