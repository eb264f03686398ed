import {
  checkRegistration,
  type JsonObject,
  type NewNodeEvent,
  type NodeBeat,
  type NodeEvent,
  type NodeEventQuery,
  type NodeEventType,
  type NodeRecord,
  type NodeRegistration,
  type NodeStore,
  type NodeWakeups,
  storeRules,
} from "@aipartnerupflow/core";
import { timeParam, statusIn } from "../sql/fragments.js";
import type { SqlDatabase, SqlValue } from "../db/types.js";
import { readBool } from "../store/rows.js";

const { RUNNING } = storeRules;

interface NodeRow {
  node_id: string;
  host: string;
  pid: number | string;
  version: string;
  executors: string;
  tags: string;
  cpu: number | string;
  memory: number | string | bigint;
  concurrency: number | string;
  running: number | string;
  load: number | string;
  heartbeat_ms: number | string;
  dead_after_ms: number | string;
  draining: unknown;
  started_at: unknown;
  heartbeat_at: unknown;
  handed_back_at: unknown;
  wakeups: string | null;
}

interface EventRow {
  seq: number | string | bigint;
  type: string;
  node_id: string;
  at: unknown;
  detail: string;
}

const toDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));

function fromRow(r: NodeRow): NodeRecord {
  return {
    nodeId: r.node_id,
    host: r.host,
    pid: Number(r.pid),
    version: r.version,
    executors: JSON.parse(r.executors) as string[],
    tags: JSON.parse(r.tags) as string[],
    cpu: Number(r.cpu),
    memory: Number(r.memory),
    concurrency: Number(r.concurrency),
    running: Number(r.running),
    load: Number(r.load),
    heartbeatMs: Number(r.heartbeat_ms),
    deadAfterMs: Number(r.dead_after_ms),
    draining: readBool(r.draining),
    startedAt: toDate(r.started_at),
    heartbeatAt: toDate(r.heartbeat_at),
    handedBackAt: r.handed_back_at === null || r.handed_back_at === undefined ? null : toDate(r.handed_back_at),
    wakeups: readWakeups(r.wakeups),
  };
}

function readWakeups(text: string | null | undefined): NodeWakeups | null {
  if (text === null || text === undefined) return null;
  const w = JSON.parse(text) as { transport: string; connected: boolean; since: string };
  return { transport: w.transport, connected: w.connected, since: new Date(w.since) };
}

/**
 * The node registry on SQLite or PostgreSQL (`PrismaTaskStore.nodes`): tables `nodes` and
 * `node_events` (migration 0009). Each operation is one statement. `expireLeases` writes the
 * tasks table: it only moves the lease expiry of the owner's running tasks to `now`, so the
 * store's own `reclaimExpired` then decides each task by the rules (fenced by its token).
 */
export class SqlNodeStore implements NodeStore {
  constructor(private readonly db: SqlDatabase) {}

  private get t(): string {
    return timeParam(this.db.dialect);
  }

  async register(node: NodeRegistration, now: Date): Promise<NodeRecord> {
    checkRegistration(node);
    const [row] = await this.db.all<NodeRow>(
      `INSERT INTO "nodes" ("node_id", "host", "pid", "version", "executors", "tags", "cpu", "memory", "concurrency",
         "running", "load", "heartbeat_ms", "dead_after_ms", "draining", "started_at", "heartbeat_at", "handed_back_at")
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, ?, ?, ?, ${this.t}, ${this.t}, NULL)
       ON CONFLICT ("node_id") DO UPDATE SET "host" = excluded."host", "pid" = excluded."pid",
         "version" = excluded."version", "executors" = excluded."executors", "tags" = excluded."tags",
         "cpu" = excluded."cpu", "memory" = excluded."memory", "concurrency" = excluded."concurrency",
         "running" = 0, "load" = 0, "heartbeat_ms" = excluded."heartbeat_ms",
         "dead_after_ms" = excluded."dead_after_ms", "draining" = excluded."draining",
         "started_at" = excluded."started_at", "heartbeat_at" = excluded."heartbeat_at", "handed_back_at" = NULL,
         "wakeups" = NULL
       RETURNING *`,
      [
        node.nodeId,
        node.host,
        node.pid,
        node.version,
        JSON.stringify(node.executors),
        JSON.stringify(node.tags),
        Math.round(node.cpu),
        Math.round(node.memory),
        node.concurrency,
        Math.round(node.heartbeatMs),
        Math.round(node.deadAfterMs),
        false,
        now,
        now,
      ],
    );
    return fromRow(row as NodeRow);
  }

  async heartbeat(nodeId: string, beat: NodeBeat, now: Date): Promise<NodeRecord | null> {
    const [row] = await this.db.all<NodeRow>(
      `UPDATE "nodes" SET "running" = ?, "load" = ?, "heartbeat_at" = ${this.t}, "handed_back_at" = NULL,
         "wakeups" = COALESCE(?, "wakeups")
        WHERE "node_id" = ? RETURNING *`,
      [
        beat.running,
        beat.load,
        now,
        beat.wakeups
          ? JSON.stringify({
              transport: beat.wakeups.transport,
              connected: beat.wakeups.connected,
              since: beat.wakeups.since.toISOString(),
            })
          : null,
        nodeId,
      ],
    );
    return row ? fromRow(row) : null;
  }

  async deregister(nodeId: string): Promise<boolean> {
    return (await this.db.run(`DELETE FROM "nodes" WHERE "node_id" = ?`, [nodeId])) > 0;
  }

  async get(nodeId: string): Promise<NodeRecord | null> {
    const [row] = await this.db.all<NodeRow>(`SELECT * FROM "nodes" WHERE "node_id" = ?`, [nodeId]);
    return row ? fromRow(row) : null;
  }

  async list(): Promise<NodeRecord[]> {
    const rows = await this.db.all<NodeRow>(`SELECT * FROM "nodes" ORDER BY "started_at", "node_id"`);
    return rows.map(fromRow);
  }

  async drain(nodeId: string, draining: boolean): Promise<NodeRecord | null> {
    const [row] = await this.db.all<NodeRow>(`UPDATE "nodes" SET "draining" = ? WHERE "node_id" = ? RETURNING *`, [
      draining,
      nodeId,
    ]);
    return row ? fromRow(row) : null;
  }

  async markHandedBack(nodeId: string, now: Date): Promise<boolean> {
    return (
      (await this.db.run(`UPDATE "nodes" SET "handed_back_at" = ${this.t} WHERE "node_id" = ?`, [now, nodeId])) > 0
    );
  }

  async expireLeases(owner: string, now: Date): Promise<string[]> {
    const rows = await this.db.all<{ id: string }>(
      `UPDATE tasks SET lease_expires_at = CASE WHEN lease_expires_at > ${this.t} THEN ${this.t} ELSE lease_expires_at END
        WHERE ${statusIn("status", [RUNNING])} AND lease_owner = ? RETURNING id`,
      [now, now, owner],
    );
    return rows.map((r) => r.id);
  }

  async appendEvent(event: NewNodeEvent): Promise<NodeEvent> {
    const [row] = await this.db.all<EventRow>(
      `INSERT INTO "node_events" ("type", "node_id", "at", "detail") VALUES (?, ?, ${this.t}, ?) RETURNING *`,
      [event.type, event.nodeId, event.at, JSON.stringify(event.detail)],
    );
    return eventFromRow(row as EventRow);
  }

  async listEvents(query: NodeEventQuery = {}): Promise<NodeEvent[]> {
    const where: string[] = [`"seq" > ?`];
    const params: SqlValue[] = [query.afterSeq ?? 0];
    if (query.type !== undefined) {
      where.push(`"type" = ?`);
      params.push(query.type);
    }
    if (query.nodeId !== undefined) {
      where.push(`"node_id" = ?`);
      params.push(query.nodeId);
    }
    params.push(query.limit ?? 100);
    const rows = await this.db.all<EventRow>(
      `SELECT * FROM "node_events" WHERE ${where.join(" AND ")} ORDER BY "seq"${query.newestFirst ? " DESC" : ""} LIMIT ?`,
      params,
    );
    return rows.map(eventFromRow);
  }
}

function eventFromRow(r: EventRow): NodeEvent {
  return {
    seq: Number(r.seq),
    type: r.type as NodeEventType,
    nodeId: r.node_id,
    at: toDate(r.at),
    detail: JSON.parse(r.detail) as JsonObject,
  };
}
