import { createHash } from "node:crypto";

/** JSON with object keys sorted at every level (undefined members dropped), for hashing. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value ?? null);
  if (Array.isArray(value)) return `[${value.map((v) => (v === undefined ? "null" : canonicalJson(v))).join(",")}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
}

/** The fingerprint of a request: SHA-256 of its operation and its canonical parameters. */
export function fingerprintOf(operation: string, params: unknown): string {
  return createHash("sha256").update(operation).update("\n").update(canonicalJson(params)).digest("hex");
}

/**
 * The key of one step of a request made under `key` (a `runTree` creates under the caller's key
 * and executes under the key of its `execute` step): short, deterministic, and in a form a
 * caller's own key is unlikely to take.
 */
export function deriveIdempotencyKey(key: string, step: string): string {
  return `${step}~${createHash("sha256").update(key).digest("hex").slice(0, 40)}`;
}
