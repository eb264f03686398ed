-- aipartnerupflow store, PostgreSQL. Applied by src/migrate/ in one transaction.

CREATE TABLE "tasks" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "parent_id" TEXT,
    "root_id" TEXT NOT NULL,
    "user_id" TEXT,
    "name" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'pending',
    "priority" INTEGER NOT NULL DEFAULT 2,
    "dependencies" JSONB NOT NULL DEFAULT '[]',
    "inputs" JSONB NOT NULL DEFAULT '{}',
    "params" JSONB NOT NULL DEFAULT '{}',
    "schemas" JSONB NOT NULL DEFAULT '{}',
    "result" JSONB,
    "error" JSONB,
    "progress" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "attempt" INTEGER NOT NULL DEFAULT 0,
    "retry" JSONB,
    "run_at" TIMESTAMPTZ(3),
    "original_task_id" TEXT,
    "has_children" BOOLEAN NOT NULL DEFAULT false,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL,
    "started_at" TIMESTAMPTZ(3),
    "completed_at" TIMESTAMPTZ(3),
    "ordinal" BIGINT NOT NULL DEFAULT 0,
    "unresolved" INTEGER NOT NULL DEFAULT 0,
    "execution_id" TEXT,
    "lease_owner" TEXT,
    "lease_token" TEXT,
    "lease_expires_at" TIMESTAMPTZ(3),
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "checkpoint" JSONB
);

-- claimReady walks this index in order: status = 'pending' AND unresolved = 0, then priority, FIFO.
CREATE INDEX "tasks_ready_idx" ON "tasks"("status", "unresolved", "priority", "ordinal");
CREATE INDEX "tasks_root_idx" ON "tasks"("root_id", "ordinal");
CREATE INDEX "tasks_parent_idx" ON "tasks"("parent_id");
CREATE INDEX "tasks_user_idx" ON "tasks"("user_id");
CREATE INDEX "tasks_lease_idx" ON "tasks"("status", "lease_expires_at");
CREATE INDEX "tasks_execution_idx" ON "tasks"("execution_id");

CREATE TABLE "task_dependencies" (
    "task_id" TEXT NOT NULL,
    "depends_on_id" TEXT NOT NULL,
    "required" BOOLEAN NOT NULL DEFAULT true,
    "position" INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY ("task_id", "depends_on_id")
);

-- The reverse index: from a task to the tasks that depend on it.
CREATE INDEX "task_dependencies_reverse_idx" ON "task_dependencies"("depends_on_id");

CREATE TABLE "executions" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "root_id" TEXT NOT NULL,
    "task_id" TEXT NOT NULL,
    "status" TEXT NOT NULL DEFAULT 'running',
    "cancel_requested" BOOLEAN NOT NULL DEFAULT false,
    "remaining" INTEGER NOT NULL DEFAULT 0,
    "total" INTEGER NOT NULL DEFAULT 0,
    "failed" INTEGER NOT NULL DEFAULT 0,
    "demo" BOOLEAN NOT NULL DEFAULT false,
    "user_id" TEXT,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "finished_at" TIMESTAMPTZ(3),
    "ordinal" BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX "executions_root_idx" ON "executions"("root_id", "status");
CREATE INDEX "executions_status_idx" ON "executions"("status");
CREATE INDEX "executions_ordinal_idx" ON "executions"("ordinal");
-- One running execution per tree, whatever the callers do.
CREATE UNIQUE INDEX "executions_one_running_idx" ON "executions"("root_id") WHERE "status" = 'running';

CREATE TABLE "events" (
    "seq" BIGSERIAL NOT NULL PRIMARY KEY,
    "type" TEXT NOT NULL,
    "task_id" TEXT NOT NULL,
    "root_id" TEXT NOT NULL,
    "execution_id" TEXT,
    "status" TEXT NOT NULL,
    "progress" DOUBLE PRECISION,
    "message" TEXT,
    "result" JSONB,
    "error" JSONB,
    "at" TIMESTAMPTZ(3) NOT NULL
);

CREATE INDEX "events_root_idx" ON "events"("root_id", "seq");
CREATE INDEX "events_task_idx" ON "events"("task_id", "seq");
CREATE INDEX "events_execution_idx" ON "events"("execution_id", "seq");

CREATE TABLE "attempts" (
    "task_id" TEXT NOT NULL,
    "attempt" INTEGER NOT NULL,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "ended_at" TIMESTAMPTZ(3),
    "status" TEXT NOT NULL,
    "error" JSONB,
    "owner" TEXT,
    PRIMARY KEY ("task_id", "attempt")
);
