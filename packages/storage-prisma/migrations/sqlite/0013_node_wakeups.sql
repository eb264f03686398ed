-- How each node learns of new work (its wake-up transport, whether connected, since when), as
-- its heartbeat reports it: JSON text {"transport", "connected", "since"} like "executors" and
-- "tags" (never queried into); NULL until the node has reported one.
ALTER TABLE "nodes" ADD COLUMN "wakeups" TEXT;
