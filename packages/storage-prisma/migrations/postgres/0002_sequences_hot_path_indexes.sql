-- Creation order from sequences, and smaller indexes on the engine's hot path.
-- Applied by src/migrate/ in one transaction.

-- `ordinal` was `MAX(ordinal) + 1` read inside the creating transaction: under READ COMMITTED two
-- processes creating trees at once read the same maximum and wrote the same ordinals. A sequence
-- hands out distinct, increasing values without locking. OWNED BY: `TRUNCATE ... RESTART IDENTITY`
-- restarts them, and dropping the table drops them.
CREATE SEQUENCE "tasks_ordinal_seq" AS BIGINT OWNED BY "tasks"."ordinal";
SELECT setval('tasks_ordinal_seq', COALESCE((SELECT MAX("ordinal") FROM "tasks"), 0) + 1, false);
CREATE SEQUENCE "executions_ordinal_seq" AS BIGINT OWNED BY "executions"."ordinal";
SELECT setval('executions_ordinal_seq', COALESCE((SELECT MAX("ordinal") FROM "executions"), 0) + 1, false);

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
