/**
 * snake_case parameter names of the Python original (`task_id`, `parent_id`, ...) are accepted as
 * aliases of the camelCase ones (docs/semantics.md#the-api-surfaces). The camelCase name wins when both are given.
 */
export function camelKeys(value: unknown): unknown {
  if (!value || typeof value !== "object" || Array.isArray(value)) return value;
  const out: Record<string, unknown> = {};
  const input = value as Record<string, unknown>;
  for (const [key, v] of Object.entries(input)) {
    const camel = toCamel(key);
    if (camel !== key && camel in input) continue;
    out[camel] = v;
  }
  return out;
}

export function toCamel(key: string): string {
  return key.includes("_") ? key.replace(/_+([a-z0-9])/g, (_, c: string) => c.toUpperCase()) : key;
}

/** Task items of a creation request use the same aliases, one level deep (inputs stay untouched). */
export function camelTasks(tasks: unknown): unknown {
  return Array.isArray(tasks) ? tasks.map((t) => camelKeys(t)) : tasks;
}
