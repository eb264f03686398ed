import type { JsonValue } from "../types.js";
import { cloneJson } from "../util/json.js";
import {
  A2A_MAX_HISTORY,
  A2A_MAX_PUSH_CONFIGS,
  type A2aConversation,
  type A2aConversationInput,
  type A2aConversationQuery,
  type A2aPushConfig,
  type A2aPushConfigInput,
  type A2aStateStore,
} from "./types.js";

interface ConversationRow {
  rootId: string;
  owner: string | null;
  contextId: string | null;
  history: JsonValue[];
  statusMessage: JsonValue | null;
  state: number | null;
  createdAt: number;
  updatedAt: number;
}

interface PushRow {
  rootId: string;
  owner: string | null;
  configId: string;
  config: JsonValue;
  wireVersion: string;
  createdAt: number;
  seq: number;
}

/** The latest `A2A_MAX_HISTORY` messages. */
export function boundHistory<T>(history: readonly T[]): T[] {
  return history.length > A2A_MAX_HISTORY ? history.slice(-A2A_MAX_HISTORY) : [...history];
}

export interface MemoryA2aStateOptions {
  /**
   * Keep the state of at most this many roots, forgetting the least recently written first
   * (default: no limit, like `MemoryStore`'s tasks). For a process-local fallback beside a store
   * that has no A2A facet.
   */
  maxRoots?: number;
}

/**
 * `A2aStateStore` in process memory (`MemoryStore.a2a`). Single-threaded JavaScript makes every
 * method atomic. It holds one record per root that has A2A state, like the task store holds rows.
 */
export class MemoryA2aStateStore implements A2aStateStore {
  private readonly conversations = new Map<string, ConversationRow>();
  private readonly pushes = new Map<string, PushRow[]>();
  private seq = 0;
  private readonly maxRoots: number;

  constructor(options: MemoryA2aStateOptions = {}) {
    const max = options.maxRoots ?? Number.POSITIVE_INFINITY;
    if (!(max >= 1)) throw new RangeError(`maxRoots must be at least 1, got ${String(options.maxRoots)}`);
    this.maxRoots = max;
  }

  /** Mark a root as just written; forget the least recently written beyond `maxRoots`. */
  private touch(rootId: string): void {
    const row = this.conversations.get(rootId);
    if (row) {
      this.conversations.delete(rootId);
      this.conversations.set(rootId, row);
    }
    const pushes = this.pushes.get(rootId);
    if (pushes) {
      this.pushes.delete(rootId);
      this.pushes.set(rootId, pushes);
    }
    while (this.conversations.size > this.maxRoots) {
      const oldest = this.conversations.keys().next().value as string;
      this.conversations.delete(oldest);
      this.pushes.delete(oldest);
    }
    while (this.pushes.size > this.maxRoots) {
      const oldest = this.pushes.keys().next().value as string;
      this.pushes.delete(oldest);
      this.conversations.delete(oldest);
    }
  }

  async getConversation(rootId: string): Promise<A2aConversation | null> {
    const row = this.conversations.get(rootId);
    if (!row) return null;
    return {
      rootId: row.rootId,
      owner: row.owner,
      contextId: row.contextId,
      history: cloneJson(row.history),
      statusMessage: row.statusMessage === null ? null : cloneJson(row.statusMessage),
      state: row.state,
      createdAt: new Date(row.createdAt),
      updatedAt: new Date(row.updatedAt),
    };
  }

  async putConversation(c: A2aConversationInput, now: Date): Promise<void> {
    const at = now.getTime();
    const before = this.conversations.get(c.rootId);
    this.conversations.set(c.rootId, {
      rootId: c.rootId,
      owner: c.owner,
      contextId: c.contextId,
      history: cloneJson(boundHistory(c.history)),
      statusMessage: c.statusMessage === null ? null : cloneJson(c.statusMessage),
      state: c.state,
      createdAt: before?.createdAt ?? at,
      updatedAt: at,
    });
    this.touch(c.rootId);
  }

  async listConversations(query: A2aConversationQuery): Promise<{ rootIds: string[]; total: number }> {
    const matching = [...this.conversations.values()].filter(
      (r) => r.contextId === query.contextId && (query.owner === undefined || r.owner === query.owner),
    );
    matching.sort((a, b) => b.createdAt - a.createdAt || (a.rootId < b.rootId ? 1 : a.rootId > b.rootId ? -1 : 0));
    return {
      rootIds: matching.slice(query.offset, query.offset + query.limit).map((r) => r.rootId),
      total: matching.length,
    };
  }

  async putPushConfig(p: A2aPushConfigInput, now: Date): Promise<boolean> {
    const rows = this.pushes.get(p.rootId) ?? [];
    const index = rows.findIndex((r) => r.configId === p.configId);
    if (index === -1 && rows.length >= A2A_MAX_PUSH_CONFIGS) return false;
    const row: PushRow = {
      rootId: p.rootId,
      owner: p.owner,
      configId: p.configId,
      config: cloneJson(p.config),
      wireVersion: p.wireVersion,
      createdAt: index === -1 ? now.getTime() : (rows[index] as PushRow).createdAt,
      seq: index === -1 ? ++this.seq : (rows[index] as PushRow).seq,
    };
    if (index === -1) rows.push(row);
    else rows[index] = row;
    this.pushes.set(p.rootId, rows);
    this.touch(p.rootId);
    return true;
  }

  async listPushConfigs(rootId: string): Promise<A2aPushConfig[]> {
    const rows = [...(this.pushes.get(rootId) ?? [])];
    rows.sort((a, b) => a.createdAt - b.createdAt || a.seq - b.seq);
    return rows.map((r) => ({
      rootId: r.rootId,
      owner: r.owner,
      configId: r.configId,
      config: cloneJson(r.config),
      wireVersion: r.wireVersion,
      createdAt: new Date(r.createdAt),
    }));
  }

  async deletePushConfig(rootId: string, configId: string): Promise<boolean> {
    const rows = this.pushes.get(rootId);
    const index = rows?.findIndex((r) => r.configId === configId) ?? -1;
    if (!rows || index === -1) return false;
    rows.splice(index, 1);
    if (rows.length === 0) this.pushes.delete(rootId);
    return true;
  }

  async forget(rootIds: readonly string[]): Promise<void> {
    for (const id of rootIds) {
      this.conversations.delete(id);
      this.pushes.delete(id);
    }
  }
}
