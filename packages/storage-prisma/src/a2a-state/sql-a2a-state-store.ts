import {
  A2A_MAX_PUSH_CONFIGS,
  type A2aConversation,
  type A2aConversationInput,
  type A2aConversationQuery,
  type A2aPushConfig,
  type A2aPushConfigInput,
  type A2aStateStore,
  boundHistory,
  type JsonValue,
} from "@aipartnerupflow/core";
import type { SqlDatabase, SqlValue } from "../db/types.js";

/** The owner column: '' stands for "no user" (so that it can be compared and indexed). */
const who = (owner: string | null): string => owner ?? "";
const whoBack = (column: string): string | null => (column === "" ? null : column);
const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));
const parse = (text: unknown): JsonValue => JSON.parse(String(text)) as JsonValue;

interface ConversationRow {
  root_id: string;
  owner: string;
  context_id: string | null;
  history: string;
  status_message: string | null;
  state: number | string | null;
  created_at: unknown;
  updated_at: unknown;
}

interface PushRow {
  root_id: string;
  config_id: string;
  owner: string;
  config: string;
  wire_version: string;
  created_at: unknown;
}

/**
 * The A2A facet on SQLite or PostgreSQL (`PrismaTaskStore.a2a`): tables `a2a_conversations` and
 * `a2a_push_configs` (migration 0007). Each write is one statement or one transaction; saving a
 * push config counts the root's configs under a per-root lock (PostgreSQL: a transaction-scoped
 * advisory lock; SQLite: the write lock taken at BEGIN), so two nodes cannot exceed the bound.
 */
export class SqlA2aStateStore implements A2aStateStore {
  constructor(private readonly db: SqlDatabase) {}

  async getConversation(rootId: string): Promise<A2aConversation | null> {
    const rows = await this.db.all<ConversationRow>(
      `SELECT "root_id", "owner", "context_id", "history", "status_message",
              "state", "created_at", "updated_at"
         FROM "a2a_conversations" WHERE "root_id" = ?`,
      [rootId],
    );
    const row = rows[0];
    if (!row) return null;
    return {
      rootId: row.root_id,
      owner: whoBack(row.owner),
      contextId: row.context_id,
      history: parse(row.history) as JsonValue[],
      statusMessage: row.status_message === null ? null : parse(row.status_message),
      state: row.state === null ? null : Number(row.state),
      createdAt: toDate(row.created_at),
      updatedAt: toDate(row.updated_at),
    };
  }

  async putConversation(c: A2aConversationInput, now: Date): Promise<void> {
    await this.db.run(
      `INSERT INTO "a2a_conversations"
         ("root_id", "owner", "context_id", "history", "status_message", "state", "created_at", "updated_at")
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT ("root_id") DO UPDATE SET "owner" = excluded."owner", "context_id" = excluded."context_id",
         "history" = excluded."history", "status_message" = excluded."status_message",
         "state" = excluded."state", "updated_at" = excluded."updated_at"`,
      [
        c.rootId,
        who(c.owner),
        c.contextId,
        JSON.stringify(boundHistory(c.history)),
        c.statusMessage === null ? null : JSON.stringify(c.statusMessage),
        c.state,
        now,
        now,
      ],
    );
  }

  async listConversations(query: A2aConversationQuery): Promise<{ rootIds: string[]; total: number }> {
    const where = query.owner === undefined ? `"context_id" = ?` : `"context_id" = ? AND "owner" = ?`;
    const params: SqlValue[] = query.owner === undefined ? [query.contextId] : [query.contextId, who(query.owner)];
    const [rows, counted] = await Promise.all([
      this.db.all<{ root_id: string }>(
        `SELECT "root_id" FROM "a2a_conversations" WHERE ${where}
          ORDER BY "created_at" DESC, "root_id" DESC LIMIT ? OFFSET ?`,
        [...params, query.limit, query.offset],
      ),
      this.db.all<{ n: number | string }>(`SELECT COUNT(*) AS "n" FROM "a2a_conversations" WHERE ${where}`, params),
    ]);
    return { rootIds: rows.map((r) => r.root_id), total: Number(counted[0]?.n ?? 0) };
  }

  putPushConfig(p: A2aPushConfigInput, now: Date): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      if (tx.dialect === "postgres") await tx.all(`SELECT pg_advisory_xact_lock(hashtext(?))`, [`a2a:${p.rootId}`]);
      const others = await tx.all<{ n: number | string }>(
        `SELECT COUNT(*) AS "n" FROM "a2a_push_configs" WHERE "root_id" = ? AND "config_id" <> ?`,
        [p.rootId, p.configId],
      );
      if (Number(others[0]?.n ?? 0) >= A2A_MAX_PUSH_CONFIGS) return false;
      await tx.run(
        `INSERT INTO "a2a_push_configs" ("root_id", "config_id", "owner", "config", "wire_version", "created_at")
         VALUES (?, ?, ?, ?, ?, ?)
         ON CONFLICT ("root_id", "config_id") DO UPDATE SET "owner" = excluded."owner",
           "config" = excluded."config", "wire_version" = excluded."wire_version"`,
        [p.rootId, p.configId, who(p.owner), JSON.stringify(p.config), p.wireVersion, now],
      );
      return true;
    });
  }

  async listPushConfigs(rootId: string): Promise<A2aPushConfig[]> {
    const rows = await this.db.all<PushRow>(
      `SELECT "root_id", "config_id", "owner", "config", "wire_version", "created_at"
         FROM "a2a_push_configs" WHERE "root_id" = ? ORDER BY "created_at", "config_id"`,
      [rootId],
    );
    return rows.map((r) => ({
      rootId: r.root_id,
      owner: whoBack(r.owner),
      configId: r.config_id,
      config: parse(r.config),
      wireVersion: r.wire_version,
      createdAt: toDate(r.created_at),
    }));
  }

  async deletePushConfig(rootId: string, configId: string): Promise<boolean> {
    const n = await this.db.run(`DELETE FROM "a2a_push_configs" WHERE "root_id" = ? AND "config_id" = ?`, [
      rootId,
      configId,
    ]);
    return n > 0;
  }

  async forget(rootIds: readonly string[]): Promise<void> {
    if (rootIds.length === 0) return;
    await this.db.transaction(async (tx) => {
      for (let i = 0; i < rootIds.length; i += 500) {
        const batch = rootIds.slice(i, i + 500);
        const marks = batch.map(() => "?").join(", ");
        await tx.run(`DELETE FROM "a2a_push_configs" WHERE "root_id" IN (${marks})`, batch);
        await tx.run(`DELETE FROM "a2a_conversations" WHERE "root_id" IN (${marks})`, batch);
      }
    });
  }
}
