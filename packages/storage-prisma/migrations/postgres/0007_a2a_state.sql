-- A2A conversation state and push notification configs (the store's A2A facet, src/a2a-state/).
-- One row per root with A2A state. "owner" is the root's user ('' for trees without one).
-- Messages and configs are JSON text, never queried into: TEXT keeps any string a client sent
-- (PostgreSQL's jsonb refuses \u0000 and lone surrogates).
CREATE TABLE "a2a_conversations" (
    "root_id" TEXT NOT NULL PRIMARY KEY,
    "owner" TEXT NOT NULL,
    "context_id" TEXT,
    "history" TEXT NOT NULL,
    "status_message" TEXT,
    "state" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "updated_at" TIMESTAMPTZ(3) NOT NULL
);

-- ListTasks by contextId (per owner), newest first.
CREATE INDEX "a2a_conversations_context_idx" ON "a2a_conversations"("context_id", "owner", "created_at");

-- Push notification configs of a root, at most a few per root (the facet refuses more).
CREATE TABLE "a2a_push_configs" (
    "root_id" TEXT NOT NULL,
    "config_id" TEXT NOT NULL,
    "owner" TEXT NOT NULL,
    "config" TEXT NOT NULL,
    "wire_version" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    PRIMARY KEY ("root_id", "config_id")
);
