-- Data exchange logs (docs/decisions/0030-data-exchange.md): one row per push or pull request of
-- an integration, successful or refused, and for pushes one row per received record with its
-- outcome. Record inputs are kept only until the record is processed.

CREATE TABLE integration_exchanges (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  integration_id uuid NOT NULL,
  -- Set when the named contract is a contract of this integration; requested_contract_id keeps
  -- whatever the caller named (a refusal may name a contract that does not exist).
  contract_id uuid,
  requested_contract_id text,
  direction text NOT NULL CHECK (direction IN ('push', 'pull')),
  status text NOT NULL CHECK (status IN ('accepted', 'running', 'completed', 'failed')),
  format text CHECK (format IN ('json', 'csv', 'xml')),
  -- Refused at the request: never accepted, so its idempotency key does not bind a retry.
  refused boolean NOT NULL DEFAULT false,
  idempotency_key text CHECK (idempotency_key IS NULL OR length(idempotency_key) BETWEEN 1 AND 255),
  payload_hash text,
  client_id text,
  correlation_id text,
  data_categories text[] NOT NULL DEFAULT '{}',
  filters jsonb NOT NULL DEFAULT '{}'::jsonb,
  consent_checks jsonb NOT NULL DEFAULT '{}'::jsonb,
  records_received integer NOT NULL DEFAULT 0,
  records_created integer NOT NULL DEFAULT 0,
  records_updated integer NOT NULL DEFAULT 0,
  records_rejected integer NOT NULL DEFAULT 0,
  records_returned integer NOT NULL DEFAULT 0,
  next_cursor text,
  error_code text,
  error_detail text,
  received_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  completed_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, integration_id) REFERENCES integrations (tenant_id, id),
  FOREIGN KEY (tenant_id, integration_id, contract_id)
    REFERENCES integration_contracts (tenant_id, integration_id, id),
  CHECK (status <> 'failed' OR error_code IS NOT NULL),
  CHECK (NOT refused OR status = 'failed')
);
CREATE INDEX integration_exchanges_list ON integration_exchanges (tenant_id, integration_id, id);
CREATE INDEX integration_exchanges_status ON integration_exchanges (tenant_id, integration_id, status, id);
-- An accepted push happens once per key: a retry finds the original, a concurrent duplicate
-- collides here.
CREATE UNIQUE INDEX integration_exchanges_idempotency
  ON integration_exchanges (tenant_id, integration_id, idempotency_key)
  WHERE idempotency_key IS NOT NULL AND NOT refused;

CREATE TABLE integration_exchange_records (
  tenant_id uuid NOT NULL,
  exchange_id uuid NOT NULL,
  -- Position of the record in the payload, from 1 (not a database sequence).
  record_no integer NOT NULL CHECK (record_no >= 1),
  -- The record as received, until processed (then NULL: no second copy of personal data).
  input jsonb,
  outcome text CHECK (outcome IN ('created', 'updated', 'rejected')),
  person_id uuid,
  version_id integer,
  errors jsonb,
  processed_at timestamptz,
  PRIMARY KEY (tenant_id, exchange_id, record_no),
  FOREIGN KEY (tenant_id, exchange_id) REFERENCES integration_exchanges (tenant_id, id),
  CHECK ((outcome IS NULL) = (processed_at IS NULL))
);
CREATE INDEX integration_exchange_records_pending ON integration_exchange_records (tenant_id, exchange_id, record_no)
  WHERE outcome IS NULL;

ALTER TABLE integration_exchanges ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration_exchanges TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE integration_exchange_records ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration_exchange_records TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
