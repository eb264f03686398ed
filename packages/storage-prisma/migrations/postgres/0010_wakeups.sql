-- Cross-process wake-ups (packages/distributed, src/wakeup/): every transaction that appends
-- events notifies at its commit, so listening nodes act within milliseconds instead of at their
-- next poll. Every transition that can make a task claimable appends an event in the same
-- transaction (tasks created, an execution started, a task finished, so its dependents may be
-- ready, or retrying, back to pending); lease renewals and progress append none of those types.
--   apflow_events: events were appended (nodes read them after their last seq and publish them
--                  on their local bus, so a stream on one node sees tasks that run on another);
--   apflow_wakeup: work may have become claimable (nodes claim now).
-- One statement-level trigger: one NOTIFY per channel per transaction (PostgreSQL folds equal
-- notifications of a transaction into one), sent only when the transaction commits.
CREATE FUNCTION "apflow_notify_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('apflow_events', '');
  IF EXISTS (
    SELECT 1 FROM "apflow_new_events"
     WHERE "type" IN ('task.created', 'tree.started', 'task.completed', 'task.failed', 'task.cancelled', 'task.retrying')
  ) THEN
    PERFORM pg_notify('apflow_wakeup', '');
  END IF;
  RETURN NULL;
END
$$;

CREATE TRIGGER "events_notify" AFTER INSERT ON "events"
  REFERENCING NEW TABLE AS "apflow_new_events"
  FOR EACH STATEMENT EXECUTE FUNCTION "apflow_notify_events"();
