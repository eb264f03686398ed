-- Cross-process wake-ups (packages/distributed, src/wakeup/): every transaction that appends
-- events notifies at its commit, so listening nodes act within milliseconds instead of at their
-- next poll. Every transition that can make a task claimable appends an event in the same
-- transaction (tasks created, an execution started, a task finished, so its dependents may be
-- ready, or retrying, back to pending); lease renewals and progress append none of those types.
--   apflow_events: events were appended, up to the seq in the payload (nodes read them after
--                  their last seq and publish them on their local bus, so a stream on one node
--                  sees tasks that run on another; a node that has delivered that seq skips it);
--   apflow_wakeup: work may have become claimable (nodes claim now).
-- One statement-level trigger (the store appends events with one statement per transaction): one
-- NOTIFY per channel, sent only when the transaction commits.
CREATE FUNCTION "apflow_notify_events"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('apflow_events', (SELECT max("seq") FROM "apflow_new_events")::text);
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
