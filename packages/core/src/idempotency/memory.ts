import type { JsonValue } from "../types.js";
import { cloneJson } from "../util/json.js";
import type {
  IdempotencyRecord,
  IdempotencyStore,
  KeyReservation,
  KeyReservationRequest,
  UniqueClaim,
  UniqueClaimRequest,
  UniqueReservation,
} from "./types.js";

interface KeyRow {
  fingerprint: string;
  token: string;
  response: JsonValue | null;
  createdAt: number;
  expiresAt: number;
  leaseUntil: number | null;
}

/** Map key of a (user, key) pair: the user part cannot contain the separator's escape. */
const slot = (owner: string | null, key: string): string => `${owner === null ? "-" : `u${owner}`}\u0001${key}`;

/**
 * `IdempotencyStore` in process memory (`MemoryStore.idempotency`). Single-threaded JavaScript
 * makes every method atomic.
 */
export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly keys = new Map<string, KeyRow & { userId: string | null; key: string }>();
  private readonly uniques = new Map<string, UniqueReservation>();

  async reserveKey(request: KeyReservationRequest): Promise<KeyReservation> {
    const now = request.now.getTime();
    const id = slot(request.userId, request.key);
    const row = this.keys.get(id);
    if (row && row.expiresAt > now) {
      if (row.response !== null) {
        return { outcome: "completed", fingerprint: row.fingerprint, response: cloneJson(row.response) };
      }
      const leaseUntil = row.leaseUntil ?? 0;
      if (leaseUntil > now || row.fingerprint !== request.fingerprint) {
        return { outcome: "pending", fingerprint: row.fingerprint, leaseUntil: new Date(leaseUntil) };
      }
      row.token = request.token;
      row.leaseUntil = now + request.leaseMs;
      return { outcome: "reserved" };
    }
    this.keys.set(id, {
      userId: request.userId,
      key: request.key,
      fingerprint: request.fingerprint,
      token: request.token,
      response: null,
      createdAt: now,
      expiresAt: now + request.retentionMs,
      leaseUntil: now + request.leaseMs,
    });
    return { outcome: "reserved" };
  }

  async completeKey(
    userId: string | null,
    key: string,
    token: string,
    response: JsonValue,
    _now: Date,
  ): Promise<boolean> {
    const row = this.keys.get(slot(userId, key));
    if (!row || row.token !== token || row.response !== null) return false;
    row.response = cloneJson(response);
    row.leaseUntil = null;
    return true;
  }

  async releaseKey(userId: string | null, key: string, token: string): Promise<void> {
    const id = slot(userId, key);
    const row = this.keys.get(id);
    if (row && row.token === token && row.response === null) this.keys.delete(id);
  }

  async getKey(userId: string | null, key: string, now: Date): Promise<IdempotencyRecord | null> {
    const row = this.keys.get(slot(userId, key));
    if (!row || row.expiresAt <= now.getTime()) return null;
    return {
      userId: row.userId,
      key: row.key,
      fingerprint: row.fingerprint,
      response: row.response === null ? null : cloneJson(row.response),
      createdAt: new Date(row.createdAt),
      expiresAt: new Date(row.expiresAt),
      leaseUntil: row.leaseUntil === null ? null : new Date(row.leaseUntil),
    };
  }

  async expire(now: Date): Promise<number> {
    const at = now.getTime();
    let removed = 0;
    for (const [id, row] of this.keys) {
      if (row.expiresAt <= at) {
        this.keys.delete(id);
        removed++;
      }
    }
    for (const [id, u] of this.uniques) {
      if (u.scope === "period" && u.until !== null && u.until.getTime() <= at) {
        this.uniques.delete(id);
        removed++;
      }
    }
    return removed;
  }

  async claimUnique(request: UniqueClaimRequest): Promise<UniqueClaim> {
    const id = slot(request.owner, request.uniqueKey);
    const existing = this.uniques.get(id);
    if (existing && existing.rootId !== request.replace) return { claimed: false, existing: { ...existing } };
    this.uniques.set(id, {
      owner: request.owner,
      uniqueKey: request.uniqueKey,
      rootId: request.rootId,
      scope: request.scope,
      createdAt: new Date(request.now.getTime()),
      until: request.until === null ? null : new Date(request.until.getTime()),
    });
    return { claimed: true };
  }

  async releaseUnique(owner: string | null, uniqueKey: string, rootId: string): Promise<void> {
    const id = slot(owner, uniqueKey);
    if (this.uniques.get(id)?.rootId === rootId) this.uniques.delete(id);
  }

  async getUnique(owner: string | null, uniqueKey: string): Promise<UniqueReservation | null> {
    const u = this.uniques.get(slot(owner, uniqueKey));
    return u ? { ...u } : null;
  }
}
