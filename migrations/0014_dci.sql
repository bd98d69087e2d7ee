-- DCI Social Registry face (docs/decisions/0060…0069): registered DCI senders, the replay window
-- of message ids, stored transactions (requests and per-item outcomes, never records: records are
-- rebuilt through the consent decision whenever they are sent), subscriptions, and the callbacks
-- we POST (on-search, txn-on-status, on-subscribe, on-unsubscribe, notify) with their attempt log.

-- One DCI participant per API client: the sender_id it must use, its default callback URL and the
-- Ed25519 key its envelope signatures are checked with when its policy requires signatures.
CREATE TABLE dci_senders (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  client_id text NOT NULL,
  sender_id text NOT NULL CHECK (length(sender_id) BETWEEN 1 AND 200),
  callback_url text CHECK (callback_url IS NULL OR length(callback_url) BETWEEN 8 AND 2048),
  signature_required boolean NOT NULL DEFAULT false,
  public_key_id text CHECK (public_key_id IS NULL OR length(public_key_id) BETWEEN 1 AND 200),
  public_jwk jsonb,
  version_id integer NOT NULL DEFAULT 1,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, client_id),
  UNIQUE (tenant_id, sender_id),
  CHECK (NOT signature_required OR public_jwk IS NOT NULL)
);

-- Message ids seen per client and sender, for the replay window; old rows are purged by a sweep.
CREATE TABLE dci_messages (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  client_id text NOT NULL,
  sender_id text NOT NULL,
  message_id text NOT NULL,
  received_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, client_id, sender_id, message_id)
);
CREATE INDEX dci_messages_received ON dci_messages (received_at);

CREATE TABLE dci_transactions (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id text NOT NULL,
  sender_id text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('search', 'subscribe', 'unsubscribe', 'txn-status')),
  mode text NOT NULL CHECK (mode IN ('sync', 'async')),
  transaction_id text NOT NULL CHECK (length(transaction_id) <= 99),
  correlation_id text NOT NULL CHECK (length(correlation_id) <= 99),
  message_id text NOT NULL,
  status text NOT NULL CHECK (status IN ('rcvd', 'pdng', 'succ', 'rjct')),
  -- The request message as received (criteria only) and the per-item outcome (statuses, reason
  -- codes, counts): no registry record is ever stored here.
  request jsonb NOT NULL,
  outcome jsonb,
  reference_ids text[] NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, correlation_id)
);
CREATE INDEX dci_transactions_txn ON dci_transactions (tenant_id, client_id, transaction_id, created_at);
CREATE INDEX dci_transactions_refs ON dci_transactions USING gin (reference_ids);

CREATE TABLE dci_subscriptions (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  code text NOT NULL CHECK (length(code) BETWEEN 1 AND 99),
  client_id text NOT NULL,
  sender_id text NOT NULL,
  transaction_row uuid NOT NULL,
  reference_id text NOT NULL,
  -- REGISTER, UPDATE or NewHouseHoldMember.
  event_type text NOT NULL,
  filter_type text NOT NULL CHECK (filter_type IN ('idtype-value', 'expression', 'predicate')),
  filter jsonb NOT NULL,
  notify_record_type text NOT NULL,
  criteria jsonb NOT NULL,
  criteria_hash text NOT NULL,
  locale text,
  -- Where notifications go: the subscribe request's sender_uri, else the sender's default.
  callback_url text NOT NULL CHECK (length(callback_url) BETWEEN 8 AND 2048),
  status text NOT NULL DEFAULT 'subscribe' CHECK (status IN ('subscribe', 'unsubscribe')),
  created_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, code),
  FOREIGN KEY (tenant_id, transaction_row) REFERENCES dci_transactions (tenant_id, id),
  CHECK ((status = 'unsubscribe') = (ended_at IS NOT NULL))
);
-- The same criteria cannot be subscribed twice by one client while the first is active.
CREATE UNIQUE INDEX dci_subscriptions_criteria ON dci_subscriptions (tenant_id, client_id, criteria_hash)
  WHERE status = 'subscribe';
CREATE INDEX dci_subscriptions_event ON dci_subscriptions (tenant_id, event_type) WHERE status = 'subscribe';

CREATE TABLE dci_callbacks (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  client_id text NOT NULL,
  action text NOT NULL CHECK (action IN ('on-search', 'txn-on-status', 'on-subscribe', 'on-unsubscribe', 'notify')),
  transaction_row uuid,
  subscription_id uuid,
  event_id uuid,
  -- The person a notification is about (one REGISTER notification per subscription and person).
  person_id uuid,
  -- Our message id, the same on every attempt of this callback.
  message_id text NOT NULL,
  target_url text NOT NULL CHECK (length(target_url) BETWEEN 8 AND 2048),
  status text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'succeeded', 'failed', 'skipped')),
  attempts integer NOT NULL DEFAULT 0,
  last_status_code integer,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  completed_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, transaction_row) REFERENCES dci_transactions (tenant_id, id),
  FOREIGN KEY (tenant_id, subscription_id) REFERENCES dci_subscriptions (tenant_id, id),
  CHECK ((action = 'notify') = (subscription_id IS NOT NULL AND event_id IS NOT NULL)),
  CHECK (action = 'notify' OR transaction_row IS NOT NULL)
);
CREATE INDEX dci_callbacks_transaction ON dci_callbacks (tenant_id, transaction_row);
-- One notification per subscription and event.
CREATE UNIQUE INDEX dci_callbacks_notify ON dci_callbacks (tenant_id, subscription_id, event_id)
  WHERE action = 'notify';
CREATE INDEX dci_callbacks_person ON dci_callbacks (tenant_id, subscription_id, person_id)
  WHERE action = 'notify' AND status = 'succeeded';

-- Every attempt of a callback: when, how long, the HTTP status or the error, an excerpt of the answer.
CREATE TABLE dci_callback_attempts (
  tenant_id uuid NOT NULL,
  callback_id uuid NOT NULL,
  attempt integer NOT NULL,
  attempted_at timestamptz NOT NULL,
  duration_ms integer NOT NULL,
  status_code integer,
  error text,
  response_excerpt text,
  PRIMARY KEY (tenant_id, callback_id, attempt),
  FOREIGN KEY (tenant_id, callback_id) REFERENCES dci_callbacks (tenant_id, id)
);

-- Row-level security as in 0003/0004 (enabled, policy for hearth_app). Not FORCEd: system
-- transactions (outbox consumers, callback jobs, sweeps) run as the owning role, which a FORCEd
-- table with a hearth_app-only policy would shut out.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['dci_senders', 'dci_messages', 'dci_transactions', 'dci_subscriptions',
    'dci_callbacks', 'dci_callback_attempts']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO hearth_app USING (tenant_id = app_tenant_id()) '
      'WITH CHECK (tenant_id = app_tenant_id())', t);
  END LOOP;
END
$$;
GRANT SELECT, INSERT, UPDATE ON dci_senders, dci_messages, dci_transactions, dci_subscriptions, dci_callbacks
  TO hearth_app;
GRANT SELECT, INSERT ON dci_callback_attempts TO hearth_app;
REVOKE UPDATE, DELETE, TRUNCATE ON dci_callback_attempts FROM hearth_app;
