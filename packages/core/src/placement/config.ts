import { InvalidPlacementError } from "../errors.js";
import {
  PLACEMENT_GRANULARITIES,
  PLACEMENT_STRATEGIES,
  type PlacementGranularity,
  type PlacementOptions,
} from "./types.js";

/** Where named placement functions come from (a `Registry`). */
export interface PlacementLookup {
  getPlacement(name: string): PlacementOptions["strategy"] | undefined;
  listPlacements(): string[];
}

export interface PlacementSettings {
  /** A built-in strategy name or the name of a registered placement function. */
  strategy?: string | undefined;
  granularity?: string | undefined;
}

/**
 * Placement options from configuration (`APFLOW_PLACEMENT`, `APFLOW_PLACEMENT_GRANULARITY`,
 * `--placement`, ...): a built-in strategy or a function registered under that name (by a
 * plugin); undefined when neither is set. A bad value is an `InvalidPlacementError` naming the
 * setting (`names`) and the choices.
 */
export function placementFromSettings(
  settings: PlacementSettings,
  registry?: PlacementLookup,
  names: { strategy: string; granularity: string } = {
    strategy: "APFLOW_PLACEMENT",
    granularity: "APFLOW_PLACEMENT_GRANULARITY",
  },
): PlacementOptions | undefined {
  const strategy = settings.strategy?.trim() || undefined;
  const granularity = settings.granularity?.trim() || undefined;
  if (strategy === undefined && granularity === undefined) return undefined;
  const out: PlacementOptions = {};
  if (granularity !== undefined) out.granularity = placementGranularity(granularity, names.granularity);
  if (strategy !== undefined) {
    if ((PLACEMENT_STRATEGIES as readonly string[]).includes(strategy))
      out.strategy = strategy as (typeof PLACEMENT_STRATEGIES)[number];
    else {
      const fn = registry?.getPlacement(strategy);
      if (typeof fn !== "function") {
        const choices = [...PLACEMENT_STRATEGIES, ...(registry?.listPlacements() ?? [])];
        throw new InvalidPlacementError(
          `${names.strategy} must be one of ${choices.join(", ")} (a plugin may register more), got "${strategy}"`,
          { field: names.strategy },
        );
      }
      out.strategy = fn;
    }
  }
  return out;
}

/** A granularity name, or an `InvalidPlacementError` naming `name`. */
export function placementGranularity(value: string, name = "APFLOW_PLACEMENT_GRANULARITY"): PlacementGranularity {
  if ((PLACEMENT_GRANULARITIES as readonly string[]).includes(value)) return value as PlacementGranularity;
  throw new InvalidPlacementError(`${name} must be one of ${PLACEMENT_GRANULARITIES.join(", ")}, got "${value}"`, {
    field: name,
  });
}
