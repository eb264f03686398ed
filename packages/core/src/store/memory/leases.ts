import { newId } from "../../util/ids.js";
import { RUNNING } from "../rules.js";
import type { Row } from "./row.js";

/** MemoryStore's leases: who holds each running task, with which token, until when. */
export class Leases {
  /** Tokens: unique per store instance, cheaper than a UUID per claim. */
  private readonly prefix = `${newId().slice(0, 8)}-`;
  private counter = 0;
  private readonly held = new Set<Row>();

  grant(row: Row, owner: string, nowMs: number, leaseMs: number): string {
    row.leaseOwner = owner;
    row.leaseToken = `${this.prefix}${++this.counter}`;
    row.leaseExpiresAt = nowMs + leaseMs;
    row.lastOwner = owner;
    this.held.add(row);
    return row.leaseToken;
  }

  /** Whether `token` is the running task's current lease (an owner's write is fenced by it). */
  holds(row: Row, token: string, owner?: string): boolean {
    return row.task.status === RUNNING && row.leaseToken === token && (owner === undefined || row.leaseOwner === owner);
  }

  release(row: Row): void {
    row.leaseOwner = null;
    row.leaseToken = null;
    row.leaseExpiresAt = 0;
    this.held.delete(row);
  }

  /** Expire the leases `owner` holds at `nowMs` (its node is dead): the next reclaim takes them. */
  expireOwned(owner: string, nowMs: number): Row[] {
    const out: Row[] = [];
    for (const row of this.held) {
      if (row.leaseOwner !== owner || row.task.status !== RUNNING) continue;
      row.leaseExpiresAt = Math.min(row.leaseExpiresAt, nowMs);
      out.push(row);
    }
    return out.sort((a, b) => a.ordinal - b.ordinal);
  }

  /** The tasks in progress (each holds a lease while it runs). */
  running(): Iterable<Row> {
    return this.held;
  }

  /** Leases expired at `nowMs`, in creation order (as every store reclaims them). */
  expired(nowMs: number): Row[] {
    const out: Row[] = [];
    for (const row of this.held) if (row.leaseExpiresAt <= nowMs) out.push(row);
    return out.sort((a, b) => a.ordinal - b.ordinal);
  }
}
