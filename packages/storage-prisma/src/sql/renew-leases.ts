import { type LeaseRef, type RenewResult, storeRules } from "@aipartnerupflow/core";
import type { SqlSession } from "../db/types.js";
import { readBool } from "../store/rows.js";
import { chunks, statusIn, timeParam, unindexed } from "./fragments.js";

const LEASES_PER_STATEMENT = 400;

/**
 * Extend the leases this owner still holds, in one statement per 400 leases. A lease is held
 * when the task is in progress under the same token and owner; anything else is lost.
 */
export async function renewLeases(
  db: SqlSession,
  owner: string,
  leases: readonly LeaseRef[],
  leaseMs: number,
  now: Date,
): Promise<RenewResult> {
  const result: RenewResult = { renewed: [], lost: [], cancelRequested: [] };
  const expires = new Date(now.getTime() + leaseMs);
  for (const batch of chunks(leases, LEASES_PER_STATEMENT)) {
    const pairs = batch.map(() => "(?, ?)").join(", ");
    const rows = await db.all<{ id: string; lease_token: string; cancel_requested: unknown }>(
      `UPDATE tasks SET lease_expires_at = ${timeParam(db.dialect)}
        WHERE ${statusIn(unindexed(db.dialect, "status"), [storeRules.RUNNING])} AND lease_owner = ?
          AND (id, lease_token) IN (VALUES ${pairs})
        RETURNING id, lease_token, cancel_requested`,
      [expires, owner, ...batch.flatMap((l) => [l.taskId, l.leaseToken])],
    );
    // Keyed by task and token: the same task listed again with a stale token is lost.
    const held = new Map(rows.map((r) => [`${r.id}\u0000${r.lease_token}`, readBool(r.cancel_requested)]));
    for (const lease of batch) {
      const cancelRequested = held.get(`${lease.taskId}\u0000${lease.leaseToken}`);
      if (cancelRequested === undefined) {
        result.lost.push(lease.taskId);
        continue;
      }
      result.renewed.push(lease.taskId);
      if (cancelRequested) result.cancelRequested.push(lease.taskId);
    }
  }
  return result;
}
