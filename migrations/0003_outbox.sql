-- Transactional outbox: a domain change writes its event in the same transaction, so an event
-- exists if and only if the change committed. Dispatchers (webhooks, DCI notify) read pending
-- events with FOR UPDATE SKIP LOCKED. Payloads carry ids and changed field names only.
CREATE TABLE outbox_events (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  event_id uuid NOT NULL,
  type text NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  vertical_id uuid,
  resource_type text NOT NULL,
  resource_id uuid NOT NULL,
  -- The person the event is about, when there is one: delivery checks consent for this person.
  person_id uuid,
  changed_fields text[] NOT NULL DEFAULT '{}',
  data jsonb NOT NULL DEFAULT '{}'::jsonb,
  dispatched_at timestamptz,
  PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX outbox_events_pending ON outbox_events (event_id) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_events_resource ON outbox_events (tenant_id, resource_id, event_id);
ALTER TABLE outbox_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_events TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
