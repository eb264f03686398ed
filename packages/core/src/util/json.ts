import type { JsonValue } from "../types.js";

/**
 * Deep copy of a JSON value. Hand-written because `structuredClone` costs microseconds per call
 * and yields objects V8 keeps in slow (dictionary) mode; this sits on the store's hot path.
 */
export function cloneJson<T extends JsonValue | undefined>(value: T): T {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = cloneJson(value[i] as JsonValue);
    return out as T;
  }
  const out: Record<string, JsonValue> = {};
  for (const key in value) {
    const v = (value as Record<string, JsonValue>)[key];
    if (v !== undefined) out[key] = cloneJson(v);
  }
  return out as T;
}
