import { z } from "zod";
import { defineExecutor } from "../registry/define.js";
import type { JsonObject, JsonValue } from "../types.js";

/**
 * `aggregate_results` (docs/semantics.md#built-in-executors): collects its dependencies' results into
 * `{ results: { <name>: result }, count }`. Names that repeat fall back to the dependency id.
 */
export const aggregateResults = defineExecutor<JsonObject, { results: JsonObject; count: number }>({
  id: "aggregate_results",
  name: "Aggregate results",
  description: "Collects the results of the task's dependencies into one object keyed by dependency name.",
  tags: ["core", "aggregate"],
  cancelable: false,
  runInDemo: true,
  inputSchema: z.object({}).loose(),
  demoResult: { results: {}, count: 0 },
  execute(_inputs, ctx) {
    const names = new Map<string, number>();
    for (const dep of ctx.dependencies) names.set(dep.name, (names.get(dep.name) ?? 0) + 1);
    const results: JsonObject = {};
    for (const dep of ctx.dependencies) {
      const key = (names.get(dep.name) ?? 0) > 1 ? dep.id : dep.name;
      results[key] = dep.status === "completed" ? dep.result : (null as JsonValue);
    }
    return { results, count: ctx.dependencies.length };
  },
});
