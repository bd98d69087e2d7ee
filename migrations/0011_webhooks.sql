-- Webhook subscriptions, their Ed25519 signing keys, deliveries and delivery attempts
-- (docs/decisions/0040 … 0045). Deliveries are written by the outbox dispatcher in the same
-- transaction that marks the event dispatched, so each matching (event, webhook) pair gets
-- exactly one delivery row. The delivery rows are also the delivery queue: workers claim due
-- rows with FOR UPDATE SKIP LOCKED and a lock that expires if the worker dies.

-- Outbox dispatch bookkeeping: an event whose consumers keep failing is retried later with
-- backoff, and parked (left undispatched, visible to operators) after too many failures, so one
-- bad event never blocks the others.
ALTER TABLE outbox_events
  ADD COLUMN dispatch_attempts integer NOT NULL DEFAULT 0,
  ADD COLUMN dispatch_after timestamptz,
  ADD COLUMN dispatch_error text;

CREATE TABLE webhooks (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  integration_id uuid NOT NULL,
  -- Optional: the contract whose field list (with consent at delivery time) adds person fields.
  contract_id uuid,
  target_url text NOT NULL CHECK (length(target_url) BETWEEN 8 AND 2048),
  event_types text[] NOT NULL CHECK (cardinality(event_types) >= 1),
  active_from timestamptz NOT NULL,
  active_until timestamptz,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  -- The key that signs new deliveries (webhook_keys.public_key_id).
  public_key_id text NOT NULL,
  rotated_at timestamptz,
  disabled_at timestamptz,
  disabled_by text,
  disable_reason_code text,
  disable_reason_text text,
  version_id integer NOT NULL DEFAULT 1,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, integration_id) REFERENCES integrations (tenant_id, id),
  CHECK (active_until IS NULL OR active_until > active_from),
  CHECK (status <> 'disabled' OR disabled_at IS NOT NULL)
);
CREATE INDEX webhooks_integration ON webhooks (tenant_id, integration_id, id);
CREATE INDEX webhooks_active ON webhooks (tenant_id, integration_id) WHERE status = 'active';

-- One Ed25519 key pair per rotation. The private key (PKCS#8, AES-256-GCM encrypted when
-- HEARTH_WEBHOOK_KEY_SECRET is set) is readable only outside tenant transactions: the
-- application role gets no SELECT on that column, so no request path can ever return it.
CREATE TABLE webhook_keys (
  tenant_id uuid NOT NULL,
  public_key_id text NOT NULL,
  webhook_id uuid NOT NULL,
  public_jwk jsonb NOT NULL,
  private_key text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Set when a newer key replaces this one: it then co-signs until expires_at (the overlap).
  retired_at timestamptz,
  -- End of publication and co-signing; null while the key is current.
  expires_at timestamptz,
  PRIMARY KEY (tenant_id, public_key_id),
  FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id)
);
-- Public key lookups come without a tenant (receivers verify without credentials).
CREATE INDEX webhook_keys_kid ON webhook_keys (public_key_id);
CREATE INDEX webhook_keys_webhook ON webhook_keys (tenant_id, webhook_id, created_at);
CREATE INDEX webhook_keys_published ON webhook_keys (expires_at);

CREATE TABLE webhook_deliveries (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  webhook_id uuid NOT NULL,
  event_id uuid NOT NULL,
  event_type text NOT NULL,
  -- Deliveries of one webhook about one resource go out in event order (waiting → pending).
  resource_id uuid NOT NULL,
  status text NOT NULL CHECK (status IN ('waiting', 'pending', 'succeeded', 'failed', 'held')),
  -- Every attempt ever made; round_attempts restarts at 0 on a redelivery (dead letter after
  -- HEARTH_WEBHOOK_MAX_ATTEMPTS of one round).
  attempts integer NOT NULL DEFAULT 0,
  round_attempts integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz,
  locked_by text,
  locked_until timestamptz,
  last_status_code integer,
  last_error text,
  redeliveries integer NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, webhook_id, event_id),
  FOREIGN KEY (tenant_id, webhook_id) REFERENCES webhooks (tenant_id, id),
  FOREIGN KEY (tenant_id, event_id) REFERENCES outbox_events (tenant_id, event_id)
);
CREATE INDEX webhook_deliveries_log ON webhook_deliveries (tenant_id, webhook_id, id);
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (tenant_id, webhook_id, resource_id, event_id)
  WHERE status IN ('waiting', 'pending');
CREATE INDEX webhook_deliveries_waiting ON webhook_deliveries (updated_at) WHERE status = 'waiting';
-- The queue: due pending deliveries across tenants, oldest first.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

-- Every attempt: when, how long, the HTTP status or the error, and a capped excerpt of the answer.
CREATE TABLE webhook_delivery_attempts (
  tenant_id uuid NOT NULL,
  delivery_id uuid NOT NULL,
  attempt integer NOT NULL,
  attempted_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  status_code integer,
  error text,
  response_excerpt text,
  signed_with text[] NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, delivery_id, attempt),
  FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id)
);

ALTER TABLE webhooks ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_delivery_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhooks TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY tenant_isolation ON webhook_keys TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY tenant_isolation ON webhook_deliveries TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
CREATE POLICY tenant_isolation ON webhook_delivery_attempts TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Private keys: the application role may write a new key and retire old ones, never read one.
REVOKE ALL ON webhook_keys FROM hearth_app;
GRANT SELECT (tenant_id, public_key_id, webhook_id, public_jwk, created_at, retired_at, expires_at)
  ON webhook_keys TO hearth_app;
GRANT INSERT ON webhook_keys TO hearth_app;
GRANT UPDATE (retired_at, expires_at) ON webhook_keys TO hearth_app;
-- Attempts are an append-only log.
REVOKE UPDATE, DELETE, TRUNCATE ON webhook_delivery_attempts FROM hearth_app;
