import type { Registry } from "../registry/registry.js";
import { aggregateResults } from "./aggregate.js";
import { approval } from "./approval.js";

/** Register core's built-in executors (`aggregate_results`, `approval`) unless already there. */
export function registerBuiltins(registry: Registry): Registry {
  if (!registry.hasExecutor(aggregateResults.id)) registry.registerExecutor(aggregateResults);
  if (!registry.hasExecutor(approval.id)) registry.registerExecutor(approval);
  return registry;
}
