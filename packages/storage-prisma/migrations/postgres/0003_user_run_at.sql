-- A retry's backoff is written to "run_at" (the task is due again then); "user_run_at" keeps the
-- run_at the task was created or updated with, so that a re-execution (startExecution's reset)
-- restores it instead of waiting out the previous run's backoff. Existing rows: their run_at
-- (a backoff pending on an old row is kept, as before this migration).
ALTER TABLE "tasks" ADD COLUMN "user_run_at" TIMESTAMPTZ(3);
UPDATE "tasks" SET "user_run_at" = "run_at" WHERE "run_at" IS NOT NULL;
