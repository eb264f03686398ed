import type {
  IdempotencyRecord,
  IdempotencyStore,
  JsonValue,
  KeyReservation,
  KeyReservationRequest,
  UniqueClaim,
  UniqueClaimRequest,
  UniqueReservation,
  UniqueScope,
} from "@aipartnerupflow/core";
import type { SqlDatabase, SqlSession } from "../db/types.js";

/** The user (or owner) column: '' stands for "no user" (key columns cannot be null). */
const who = (userId: string | null): string => userId ?? "";
const whoBack = (column: string): string | null => (column === "" ? null : column);

const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
const toDateOrNull = (value: unknown): Date | null => (value === null || value === undefined ? null : toDate(value));

interface KeyRow {
  fingerprint: string;
  token: string;
  response: string | null;
  created_at: unknown;
  expires_at: unknown;
  lease_until: unknown;
}

interface UniqueRow {
  owner: string;
  unique_key: string;
  root_id: string;
  scope: string;
  created_at: unknown;
  until: unknown;
}

/**
 * The idempotency facet on SQLite or PostgreSQL (`PrismaTaskStore.idempotency`): tables
 * `idempotency_keys` and `unique_trees` (migration 0005). Each operation is one transaction; on
 * PostgreSQL the row is locked (`FOR UPDATE`) and a racing first insert waits for the other's
 * commit (`ON CONFLICT DO NOTHING`), so two processes reserving one key get one reservation.
 */
export class SqlIdempotencyStore implements IdempotencyStore {
  constructor(private readonly db: SqlDatabase) {}

  private forUpdate(tx: SqlSession): string {
    return tx.dialect === "postgres" ? " FOR UPDATE" : "";
  }

  private responseText(tx: SqlSession): string {
    return tx.dialect === "postgres" ? `"response"::text AS "response"` : `"response"`;
  }

  private jsonParam(tx: SqlSession): string {
    return tx.dialect === "postgres" ? "?::jsonb" : "?";
  }

  private async readKey(tx: SqlSession, user: string, key: string, lock: boolean): Promise<KeyRow | undefined> {
    const rows = await tx.all<KeyRow>(
      `SELECT "fingerprint", "token", ${this.responseText(tx)}, "created_at", "expires_at", "lease_until"
         FROM "idempotency_keys" WHERE "user_id" = ? AND "key" = ?${lock ? this.forUpdate(tx) : ""}`,
      [user, key],
    );
    return rows[0];
  }

  reserveKey(request: KeyReservationRequest): Promise<KeyReservation> {
    const user = who(request.userId);
    const now = request.now;
    const leaseUntil = new Date(now.getTime() + request.leaseMs);
    const expiresAt = new Date(now.getTime() + request.retentionMs);
    return this.db.transaction(async (tx) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const row = await this.readKey(tx, user, request.key, true);
        if (!row) {
          const inserted = await tx.run(
            `INSERT INTO "idempotency_keys"
               ("user_id", "key", "fingerprint", "token", "response", "created_at", "expires_at", "lease_until")
             VALUES (?, ?, ?, ?, NULL, ?, ?, ?) ON CONFLICT ("user_id", "key") DO NOTHING`,
            [user, request.key, request.fingerprint, request.token, now, expiresAt, leaseUntil],
          );
          if (inserted === 1) return { outcome: "reserved" };
          continue; // another process inserted it first (and committed): read it
        }
        if (toDate(row.expires_at).getTime() <= now.getTime()) {
          await tx.run(
            `UPDATE "idempotency_keys" SET "fingerprint" = ?, "token" = ?, "response" = NULL, "created_at" = ?,
               "expires_at" = ?, "lease_until" = ? WHERE "user_id" = ? AND "key" = ?`,
            [request.fingerprint, request.token, now, expiresAt, leaseUntil, user, request.key],
          );
          return { outcome: "reserved" };
        }
        if (row.response !== null) {
          return {
            outcome: "completed",
            fingerprint: row.fingerprint,
            response: JSON.parse(row.response) as JsonValue,
          };
        }
        const heldUntil = toDateOrNull(row.lease_until) ?? new Date(0);
        if (heldUntil.getTime() > now.getTime() || row.fingerprint !== request.fingerprint) {
          return { outcome: "pending", fingerprint: row.fingerprint, leaseUntil: heldUntil };
        }
        await tx.run(`UPDATE "idempotency_keys" SET "token" = ?, "lease_until" = ? WHERE "user_id" = ? AND "key" = ?`, [
          request.token,
          leaseUntil,
          user,
          request.key,
        ]);
        return { outcome: "reserved" };
      }
      throw new Error(`idempotency key "${request.key}" could not be read after a conflicting insert`);
    });
  }

  async completeKey(
    userId: string | null,
    key: string,
    token: string,
    response: JsonValue,
    _now: Date,
  ): Promise<boolean> {
    const changed = await this.db.run(
      `UPDATE "idempotency_keys" SET "response" = ${this.jsonParam(this.db)}, "lease_until" = NULL
        WHERE "user_id" = ? AND "key" = ? AND "token" = ? AND "response" IS NULL`,
      [JSON.stringify(response), who(userId), key, token],
    );
    return changed === 1;
  }

  async releaseKey(userId: string | null, key: string, token: string): Promise<void> {
    await this.db.run(
      `DELETE FROM "idempotency_keys" WHERE "user_id" = ? AND "key" = ? AND "token" = ? AND "response" IS NULL`,
      [who(userId), key, token],
    );
  }

  async getKey(userId: string | null, key: string, now: Date): Promise<IdempotencyRecord | null> {
    const row = await this.readKey(this.db, who(userId), key, false);
    if (!row || toDate(row.expires_at).getTime() <= now.getTime()) return null;
    return {
      userId,
      key,
      fingerprint: row.fingerprint,
      response: row.response === null ? null : (JSON.parse(row.response) as JsonValue),
      createdAt: toDate(row.created_at),
      expiresAt: toDate(row.expires_at),
      leaseUntil: toDateOrNull(row.lease_until),
    };
  }

  expire(now: Date): Promise<number> {
    return this.db.transaction(async (tx) => {
      const keys = await tx.run(`DELETE FROM "idempotency_keys" WHERE "expires_at" <= ?`, [now]);
      const uniques = await tx.run(
        `DELETE FROM "unique_trees" WHERE "scope" = 'period' AND "until" IS NOT NULL AND "until" <= ?`,
        [now],
      );
      return keys + uniques;
    });
  }

  claimUnique(request: UniqueClaimRequest): Promise<UniqueClaim> {
    const owner = who(request.owner);
    return this.db.transaction(async (tx) => {
      for (let attempt = 0; attempt < 3; attempt++) {
        const rows = await tx.all<UniqueRow>(
          `SELECT "owner", "unique_key", "root_id", "scope", "created_at", "until" FROM "unique_trees"
            WHERE "owner" = ? AND "unique_key" = ?${this.forUpdate(tx)}`,
          [owner, request.uniqueKey],
        );
        const row = rows[0];
        if (!row) {
          const inserted = await tx.run(
            `INSERT INTO "unique_trees" ("owner", "unique_key", "root_id", "scope", "created_at", "until")
             VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT ("owner", "unique_key") DO NOTHING`,
            [owner, request.uniqueKey, request.rootId, request.scope, request.now, request.until],
          );
          if (inserted === 1) return { claimed: true };
          continue;
        }
        if (row.root_id !== request.replace) return { claimed: false, existing: uniqueOf(row) };
        await tx.run(
          `UPDATE "unique_trees" SET "root_id" = ?, "scope" = ?, "created_at" = ?, "until" = ?
            WHERE "owner" = ? AND "unique_key" = ?`,
          [request.rootId, request.scope, request.now, request.until, owner, request.uniqueKey],
        );
        return { claimed: true };
      }
      throw new Error(`unique key "${request.uniqueKey}" could not be read after a conflicting insert`);
    });
  }

  async releaseUnique(owner: string | null, uniqueKey: string, rootId: string): Promise<void> {
    await this.db.run(`DELETE FROM "unique_trees" WHERE "owner" = ? AND "unique_key" = ? AND "root_id" = ?`, [
      who(owner),
      uniqueKey,
      rootId,
    ]);
  }

  async getUnique(owner: string | null, uniqueKey: string): Promise<UniqueReservation | null> {
    const rows = await this.db.all<UniqueRow>(
      `SELECT "owner", "unique_key", "root_id", "scope", "created_at", "until" FROM "unique_trees"
        WHERE "owner" = ? AND "unique_key" = ?`,
      [who(owner), uniqueKey],
    );
    return rows[0] ? uniqueOf(rows[0]) : null;
  }
}

function uniqueOf(row: UniqueRow): UniqueReservation {
  return {
    owner: whoBack(row.owner),
    uniqueKey: row.unique_key,
    rootId: row.root_id,
    scope: row.scope as UniqueScope,
    createdAt: toDate(row.created_at),
    until: toDateOrNull(row.until),
  };
}
