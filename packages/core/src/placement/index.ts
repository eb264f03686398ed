export * from "./types.js";
export { placementUnits } from "./units.js";
export { canRun, eligibleNodes, isLive } from "./eligible.js";
export {
  leastLoaded,
  loadOf,
  mostPreferred,
  narrowToPreferred,
  newPlacementCursor,
  notePlaced,
  type PlacementCursor,
  placedSinceBeat,
  roundRobin,
} from "./strategies.js";
export { checkPlacementOptions, planPlacement } from "./plan.js";
export { NODE_CACHE_MS, Placer, type PlacerOptions, placementTaskOf } from "./placer.js";
export {
  type PlacementLookup,
  type PlacementSettings,
  placementFromSettings,
  placementGranularity,
} from "./config.js";
