import type { DependencyResult, JsonObject, JsonValue } from "../types.js";

/**
 * Merge dependency results into a task's inputs before its executor runs (docs/semantics.md#dependency-results).
 *
 * - When the executor (or `schemas.inputSchema`) declares input properties, same-named keys of
 *   each completed dependency's object result fill the inputs the task did not set itself
 *   (the first dependency in declared order wins).
 * - Otherwise each completed dependency's whole result is placed at `inputs[<dependency name>]`,
 *   or at `inputs[<dependency id>]` when two dependencies share a name.
 *
 * Inputs the task set explicitly are never overwritten. Failed or cancelled (optional)
 * dependencies contribute nothing here; `ctx.dependencies` still lists them.
 */
export function mergeDependencyResults(
  inputs: JsonObject,
  dependencies: readonly DependencyResult[],
  declaredProperties: readonly string[],
): JsonObject {
  if (dependencies.length === 0) return inputs;
  const merged = dictionary(inputs);
  if (declaredProperties.length > 0) {
    const declared = new Set(declaredProperties);
    for (const dep of dependencies) {
      if (dep.status !== "completed" || !isPlainObject(dep.result)) continue;
      for (const [key, value] of Object.entries(dep.result)) {
        if (declared.has(key) && !(key in merged)) merged[key] = value;
      }
    }
    return merged;
  }
  const repeated = repeatedNames(dependencies);
  for (const dep of dependencies) {
    if (dep.status !== "completed") continue;
    const key = repeated?.has(dep.name) ? dep.id : dep.name;
    if (!(key in inputs)) merged[key] = dep.result;
  }
  return merged;
}

function isPlainObject(value: JsonValue | null): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** Names used by more than one dependency (null when there are none, the common case). */
function repeatedNames(dependencies: readonly DependencyResult[]): Set<string> | null {
  if (dependencies.length < 2) return null;
  const seen = new Set<string>();
  let repeated: Set<string> | null = null;
  for (const dep of dependencies) {
    if (seen.has(dep.name)) (repeated ??= new Set()).add(dep.name);
    else seen.add(dep.name);
  }
  return repeated;
}

/**
 * A copy of `inputs` to add keys to. Keys here are task names, unique across a tree: adding them
 * to ordinary objects makes V8 build a hidden class per name, which costs time and memory on big
 * trees. A null-prototype object stays a plain dictionary and still serialises as JSON.
 */
function dictionary(inputs: JsonObject): JsonObject {
  const out = Object.create(null) as JsonObject;
  for (const key in inputs) out[key] = inputs[key] as JsonValue;
  return out;
}
