-- Smaller indexes on the engine's hot path. Applied by src/migrate/ in one transaction.
-- The ready index only holds pending tasks (claimReady's range scan), the lease index only tasks in
-- progress (reclaimExpired's range scan): a task finishing leaves both, and no completed task
-- (the bulk of a large table) is written to or kept in either.

DROP INDEX IF EXISTS "tasks_ready_idx";
CREATE INDEX "tasks_ready_idx" ON "tasks"("unresolved", "priority", "ordinal") WHERE "status" = 'pending';

DROP INDEX IF EXISTS "tasks_lease_idx";
CREATE INDEX "tasks_lease_idx" ON "tasks"("lease_expires_at") WHERE "status" = 'in_progress';

-- Events by task id were a third index inserted at random positions (task ids are random UUIDs):
-- the costliest write of every transition. A task's events are read through its tree's index
-- instead (events_root_idx: root_id, seq), which every caller that asks for a task's events can
-- name; src/sql/read-events.ts looks the root up when only the task is given.
DROP INDEX IF EXISTS "events_task_idx";
