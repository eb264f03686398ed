export * from "./types.js";
export { MemoryIdempotencyStore } from "./memory.js";
export {
  IdempotencyGuard,
  type IdempotencyOptions,
  type Guarded,
  checkIdempotencyKey,
  idempotencyKeyReused,
  MAX_IDEMPOTENCY_KEY_LENGTH,
  DEFAULT_IDEMPOTENCY_RETENTION_MS,
} from "./guard.js";
export { canonicalJson, deriveIdempotencyKey, fingerprintOf } from "./fingerprint.js";
export type { CreateOutcome } from "./calls.js";
export { type UniqueSpec, takeUniqueSpecs, UNIQUE_CREATE_GRACE_MS } from "./unique.js";
