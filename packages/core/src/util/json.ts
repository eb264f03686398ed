import type { JsonValue } from "../types.js";

/** Deep copy of a JSON value, fast for the common null / primitive / empty cases. */
export function cloneJson<T extends JsonValue | undefined>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return (value.length === 0 ? [] : structuredClone(value)) as T;
  for (const _ in value) return structuredClone(value);
  return {} as T;
}
