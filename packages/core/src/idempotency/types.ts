import type { JsonValue } from "../types.js";

/**
 * The idempotency facet of a store (`store.idempotency`): idempotency keys per user and unique-tree
 * reservations per owner. Separate from `TaskStore` so that it can evolve on its own; every
 * implementation must pass the facet contract (`describeIdempotencyContract` in
 * `@aipartnerupflow/core/testing`). Like `TaskStore`, it never reads the clock: every operation
 * that depends on time takes `now`.
 */
export interface IdempotencyStore {
  /**
   * Reserve `key` for `userId`, atomically (also across processes sharing the store):
   * - no live record (none, or one past its `expiresAt`): write one held by `token` → `reserved`;
   * - a record with a response → `completed` (with the fingerprint it was recorded with);
   * - a record without a response whose lease is still running → `pending`;
   * - a record without a response whose lease ran out (its holder died): taken over by `token`
   *   when the fingerprint is the same → `reserved`, else → `pending` (so the caller refuses it).
   */
  reserveKey(request: KeyReservationRequest): Promise<KeyReservation>;

  /** Record the response of the work done under `token`. False when `token` no longer holds the key. */
  completeKey(userId: string | null, key: string, token: string, response: JsonValue, now: Date): Promise<boolean>;

  /** Forget a reservation that `token` holds and that has no response yet (the work failed). */
  releaseKey(userId: string | null, key: string, token: string): Promise<void>;

  /** The live record of a key, or null (missing or expired). */
  getKey(userId: string | null, key: string, now: Date): Promise<IdempotencyRecord | null>;

  /**
   * Remove what has expired: keys whose `expiresAt` is at or before `now` and `period` unique
   * reservations whose `until` is. Returns how many records were removed.
   */
  expire(now: Date): Promise<number>;

  /**
   * Reserve `uniqueKey` for `owner` for the tree `rootId`, atomically: when no reservation exists
   * it is written (`claimed`); when one exists for the root named by `replace` (the caller found
   * that tree finished or its period over) it is replaced (`claimed`); otherwise the existing
   * reservation is returned.
   */
  claimUnique(request: UniqueClaimRequest): Promise<UniqueClaim>;

  /** Remove the reservation of `uniqueKey` when it is the one for `rootId` (its creation failed). */
  releaseUnique(owner: string | null, uniqueKey: string, rootId: string): Promise<void>;

  /** The reservation of `uniqueKey` for `owner`, or null. */
  getUnique(owner: string | null, uniqueKey: string): Promise<UniqueReservation | null>;
}

export interface KeyReservationRequest {
  userId: string | null;
  key: string;
  /** A hash of the request's parameters (operation included). */
  fingerprint: string;
  /** Identifies this attempt: only it may complete or release the reservation. */
  token: string;
  now: Date;
  /** How long this attempt may hold the key without a response before another may take over. */
  leaseMs: number;
  /** How long the key is remembered, from `now`. */
  retentionMs: number;
}

export type KeyReservation =
  | { outcome: "reserved" }
  | { outcome: "pending"; fingerprint: string; leaseUntil: Date }
  | { outcome: "completed"; fingerprint: string; response: JsonValue };

export interface IdempotencyRecord {
  userId: string | null;
  key: string;
  fingerprint: string;
  /** Null while the first request is still doing the work. */
  response: JsonValue | null;
  createdAt: Date;
  expiresAt: Date;
  /** Until when the holder may keep the key without a response (null once completed). */
  leaseUntil: Date | null;
}

/** `active`: while the tree is unfinished; `period`: for `periodMs` after it was created. */
export type UniqueScope = "active" | "period";

export interface UniqueClaimRequest {
  owner: string | null;
  uniqueKey: string;
  rootId: string;
  scope: UniqueScope;
  /** For `period`: the end of the period (null for `active`). */
  until: Date | null;
  now: Date;
  /** Replace the reservation when (and only when) it is the one of this root. */
  replace?: string;
}

export type UniqueClaim = { claimed: true } | { claimed: false; existing: UniqueReservation };

export interface UniqueReservation {
  owner: string | null;
  uniqueKey: string;
  rootId: string;
  scope: UniqueScope;
  createdAt: Date;
  until: Date | null;
}
