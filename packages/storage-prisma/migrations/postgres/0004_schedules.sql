-- Schedules (SPEC §7.2): a stored template tree plus its trigger, and one row per fire time.
-- The primary key of "schedule_runs" is the at-most-once key: every process firing a schedule
-- records the fire time first, and only the one whose INSERT went in creates the tree.
CREATE TABLE "schedules" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "name" TEXT NOT NULL,
    "user_id" TEXT,
    "tasks" JSONB NOT NULL DEFAULT '[]',
    "trigger_def" JSONB NOT NULL,
    "start_at" TIMESTAMPTZ(3),
    "end_at" TIMESTAMPTZ(3),
    "max_runs" INTEGER,
    "enabled" BOOLEAN NOT NULL DEFAULT true,
    "catch_up" TEXT NOT NULL DEFAULT 'one',
    "overlap" TEXT NOT NULL DEFAULT 'allow',
    "last_fire_at" TIMESTAMPTZ(3),
    "runs" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL
);

CREATE INDEX "schedules_user_idx" ON "schedules"("user_id");
CREATE INDEX "schedules_enabled_idx" ON "schedules"("enabled", "created_at");

CREATE TABLE "schedule_runs" (
    "schedule_id" TEXT NOT NULL,
    "fire_at" TIMESTAMPTZ(3) NOT NULL,
    "root_id" TEXT,
    "state" TEXT NOT NULL,
    "manual" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY ("schedule_id", "fire_at")
);

CREATE INDEX "schedule_runs_state_idx" ON "schedule_runs"("schedule_id", "state", "fire_at");
