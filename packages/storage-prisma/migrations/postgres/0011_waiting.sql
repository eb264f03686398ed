-- Waiting tasks (docs/semantics.md#waiting). "wait" is the public field: what a waiting task waits
-- for, or the answered wait it resumes from. "wait_event", "wait_key" and "wait_deadline" copy its
-- event, key and deadline when the task starts waiting, so that a signal and the expiry find their
-- tasks by index; they are read only together with status = 'waiting'.
ALTER TABLE "tasks" ADD COLUMN "wait" JSONB;
ALTER TABLE "tasks" ADD COLUMN "wait_event" TEXT;
ALTER TABLE "tasks" ADD COLUMN "wait_key" TEXT;
ALTER TABLE "tasks" ADD COLUMN "wait_deadline" TIMESTAMPTZ(3);
CREATE INDEX "tasks_wait_event_idx" ON "tasks"("wait_event", "wait_key") WHERE "status" = 'waiting';
CREATE INDEX "tasks_wait_deadline_idx" ON "tasks"("wait_deadline") WHERE "status" = 'waiting';
-- The payload of task.waiting (prompt, schema, deadline) and task.resumed (by, input).
ALTER TABLE "events" ADD COLUMN "data" JSONB;
