-- Retention of the outbox and the webhook delivery log (docs/decisions/0046): a periodic task
-- deletes, in small batches, finished deliveries (and their attempts) older than
-- HEARTH_WEBHOOK_LOG_RETENTION_DAYS, then dispatched outbox events older than
-- HEARTH_OUTBOX_RETENTION_DAYS that no delivery and no pending DCI notification refers to.

-- Finished deliveries, oldest first.
CREATE INDEX webhook_deliveries_finished ON webhook_deliveries (completed_at)
  WHERE status IN ('succeeded', 'failed', 'held');
-- Deliveries of an event: the "still referenced?" test, and the foreign-key check that every
-- deleted outbox event runs (without it, each deleted event would scan the deliveries).
CREATE INDEX webhook_deliveries_event ON webhook_deliveries (tenant_id, event_id);
-- Dispatched events, oldest first (undispatched ones are in outbox_events_pending).
CREATE INDEX outbox_events_dispatched ON outbox_events (dispatched_at) WHERE dispatched_at IS NOT NULL;
-- DCI notifications still to send read their event (dci_callbacks.event_id has no foreign key).
CREATE INDEX dci_callbacks_pending_notify ON dci_callbacks (tenant_id, event_id)
  WHERE action = 'notify' AND status = 'pending';
