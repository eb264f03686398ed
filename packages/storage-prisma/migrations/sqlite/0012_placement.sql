-- Placement (docs/architecture.md#placement). "placement" is the task's own declaration
-- ({requires, prefers}: node tags it needs and would rather have). "placed_on" is the node the task
-- is placed on by its execution (ExecutionPlacement.assign) or by dependency affinity: other nodes
-- leave the task alone while that node holds it (registered in "nodes", heartbeating, not draining,
-- with a free slot). "place_follows": the execution asked for dependency affinity, so completing a
-- dependency places the task on the node that completed it. The claim reads them only as filters
-- of the rows its ready-index range scan finds; no index.
ALTER TABLE "tasks" ADD COLUMN "placement" JSONB;
ALTER TABLE "tasks" ADD COLUMN "placed_on" TEXT;
ALTER TABLE "tasks" ADD COLUMN "place_follows" BOOLEAN NOT NULL DEFAULT false;
