-- The node registry (the store's nodes facet, src/nodes/): one row per process running an engine
-- on this database. "node_id" is the engine's owner, the name leases and attempts carry. States
-- (active, idle, overloaded, draining, stale, dead) are derived from the row, never stored.
-- Executors and tags are JSON text (lists of strings, never queried into).
CREATE TABLE "nodes" (
    "node_id" TEXT NOT NULL PRIMARY KEY,
    "host" TEXT NOT NULL,
    "pid" INTEGER NOT NULL,
    "version" TEXT NOT NULL,
    "executors" TEXT NOT NULL,
    "tags" TEXT NOT NULL,
    "cpu" INTEGER NOT NULL,
    "memory" BIGINT NOT NULL,
    "concurrency" INTEGER NOT NULL,
    "running" INTEGER NOT NULL DEFAULT 0,
    "load" DOUBLE PRECISION NOT NULL DEFAULT 0,
    "heartbeat_ms" INTEGER NOT NULL,
    "dead_after_ms" INTEGER NOT NULL,
    "draining" BOOLEAN NOT NULL DEFAULT false,
    "started_at" TIMESTAMPTZ(3) NOT NULL,
    "heartbeat_at" TIMESTAMPTZ(3) NOT NULL,
    "handed_back_at" TIMESTAMPTZ(3)
);

-- Node and coordinator events (a node found dead, its leases handed back, a coordinator takeover).
CREATE TABLE "node_events" (
    "seq" BIGSERIAL NOT NULL PRIMARY KEY,
    "type" TEXT NOT NULL,
    "node_id" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "detail" TEXT NOT NULL
);

CREATE INDEX "node_events_node_idx" ON "node_events"("node_id", "seq");
