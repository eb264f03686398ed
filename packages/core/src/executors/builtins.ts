import type { Registry } from "../registry/registry.js";
import { aggregateResults } from "./aggregate.js";

/** Register core's built-in executors (`aggregate_results`) unless already there. */
export function registerBuiltins(registry: Registry): Registry {
  if (!registry.hasExecutor(aggregateResults.id)) registry.registerExecutor(aggregateResults);
  return registry;
}
