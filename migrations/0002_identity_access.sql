-- Identity and access: tenants, verticals, API clients, signing keys, audit chain, idempotency,
-- rate-limit counters. Tenant tables lead their keys with tenant_id (ready for distribution by
-- tenant) and carry a row-level security policy for the hearth_app role.

CREATE TABLE tenants (
  id uuid PRIMARY KEY,
  code citext NOT NULL UNIQUE CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  settings jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants TO hearth_app USING (id = app_tenant_id());

CREATE TABLE verticals (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  code text NOT NULL CHECK (code ~ '^[A-Z][A-Z0-9_]{1,31}$'),
  name text NOT NULL,
  is_system boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, code)
);
ALTER TABLE verticals ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON verticals TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- API clients: ROOT clients have no tenant. The secret is stored only as a scrypt hash.
CREATE TABLE api_clients (
  id uuid PRIMARY KEY,
  client_id text NOT NULL UNIQUE CHECK (client_id ~ '^[A-Za-z0-9._-]{3,64}$'),
  tenant_id uuid REFERENCES tenants (id),
  name text NOT NULL,
  secret_hash text NOT NULL,
  roles text[] NOT NULL,
  scopes text[] NOT NULL,
  vertical_ids uuid[] NOT NULL DEFAULT '{}',
  allowed_programs uuid[] NOT NULL DEFAULT '{}',
  rate_limit_per_minute integer CHECK (rate_limit_per_minute > 0),
  active boolean NOT NULL DEFAULT true,
  consent_bound boolean NOT NULL DEFAULT false,
  integration_id uuid,
  source_system text,
  -- Tokens carry the generation they were issued under; rotation and deactivation bump it, so
  -- every earlier token is refused at once.
  token_generation integer NOT NULL DEFAULT 1,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((tenant_id IS NULL) = ('root' = ANY (roles)))
);
CREATE INDEX api_clients_tenant ON api_clients (tenant_id, created_at, id);
ALTER TABLE api_clients ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_clients TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Token signing keys. Retired keys keep verifying until every token they signed has expired.
CREATE TABLE signing_keys (
  kid text PRIMARY KEY,
  alg text NOT NULL,
  public_jwk jsonb NOT NULL,
  private_jwk jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  retired_at timestamptz
);
REVOKE ALL ON signing_keys FROM hearth_app;

-- Audit: one hash chain per tenant (the nil UUID for events outside any tenant). The head row is
-- locked by each append, so events of a tenant are chained in commit order.
CREATE TABLE audit_heads (
  tenant_key uuid PRIMARY KEY,
  seq bigint NOT NULL DEFAULT 0,
  last_hash bytea NOT NULL DEFAULT '\x'::bytea
);
ALTER TABLE audit_heads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_heads TO hearth_app
  USING (tenant_key = app_tenant_id()) WITH CHECK (tenant_key = app_tenant_id());
INSERT INTO audit_heads (tenant_key) VALUES ('00000000-0000-0000-0000-000000000000');

CREATE TABLE audit_events (
  tenant_key uuid NOT NULL,
  seq bigint NOT NULL,
  event_id uuid NOT NULL,
  occurred_at timestamptz NOT NULL,
  tenant_id uuid,
  actor_id text,
  action text NOT NULL,
  resource_type text,
  resource_id text,
  outcome text NOT NULL CHECK (outcome IN ('success', 'failure', 'denied')),
  status integer,
  correlation_id text,
  ip text,
  vertical_id uuid,
  program_id uuid,
  severity text NOT NULL DEFAULT 'normal' CHECK (severity IN ('normal', 'elevated')),
  details jsonb,
  prev_hash bytea NOT NULL,
  hash bytea NOT NULL,
  PRIMARY KEY (tenant_key, seq)
);
CREATE UNIQUE INDEX audit_events_event_id ON audit_events (tenant_key, event_id);
CREATE INDEX audit_events_time ON audit_events (tenant_key, occurred_at, event_id);
ALTER TABLE audit_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_events TO hearth_app
  USING (tenant_key = app_tenant_id()) WITH CHECK (tenant_key = app_tenant_id());
REVOKE UPDATE, DELETE, TRUNCATE ON audit_events FROM hearth_app;

-- Append-only for everyone, owner included: there is no UPDATE or DELETE path.
CREATE FUNCTION audit_events_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_events is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_events_no_update BEFORE UPDATE OR DELETE ON audit_events
  FOR EACH ROW EXECUTE FUNCTION audit_events_append_only();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
  FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only();

-- Idempotency keys: per client and key, the request fingerprint and the first response.
CREATE TABLE idempotency_keys (
  client_id text NOT NULL,
  key text NOT NULL,
  request_hash text NOT NULL,
  state text NOT NULL CHECK (state IN ('in_progress', 'done')),
  response_status integer,
  response_headers jsonb,
  response_body text,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (client_id, key)
);
CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at);
REVOKE ALL ON idempotency_keys FROM hearth_app;

-- Fixed one-minute windows shared by every server process (Redis replaces this when configured).
CREATE TABLE rate_limit_counters (
  key text NOT NULL,
  window_start timestamptz NOT NULL,
  count integer NOT NULL,
  PRIMARY KEY (key, window_start)
);
REVOKE ALL ON rate_limit_counters FROM hearth_app;

-- Appends one event to its tenant's chain: hash = sha256(previous hash || sha256(canonical text)).
-- The canonical text is rebuilt from the stored columns when the chain is verified.
CREATE FUNCTION audit_append(
  p_tenant_key uuid, p_event_id uuid, p_occurred_at timestamptz, p_tenant_id uuid, p_actor_id text,
  p_action text, p_resource_type text, p_resource_id text, p_outcome text, p_status integer,
  p_correlation_id text, p_ip text, p_vertical_id uuid, p_program_id uuid, p_severity text,
  p_details jsonb, p_canonical text
) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  v_seq bigint;
  v_prev bytea;
  v_hash bytea;
BEGIN
  SELECT seq, last_hash INTO v_seq, v_prev FROM audit_heads WHERE tenant_key = p_tenant_key FOR UPDATE;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'no audit chain for tenant %', p_tenant_key;
  END IF;
  v_hash := sha256(v_prev || sha256(convert_to(p_canonical, 'UTF8')));
  INSERT INTO audit_events (tenant_key, seq, event_id, occurred_at, tenant_id, actor_id, action,
    resource_type, resource_id, outcome, status, correlation_id, ip, vertical_id, program_id,
    severity, details, prev_hash, hash)
  VALUES (p_tenant_key, v_seq + 1, p_event_id, p_occurred_at, p_tenant_id, p_actor_id, p_action,
    p_resource_type, p_resource_id, p_outcome, p_status, p_correlation_id, p_ip, p_vertical_id,
    p_program_id, p_severity, p_details, v_prev, v_hash);
  UPDATE audit_heads SET seq = v_seq + 1, last_hash = v_hash WHERE tenant_key = p_tenant_key;
END
$$;

-- Appends a batch of events (a JSON array of audit_append's arguments) in array order.
CREATE FUNCTION audit_append_many(p_events jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
  e jsonb;
BEGIN
  FOR e IN SELECT value FROM jsonb_array_elements(p_events) LOOP
    PERFORM audit_append(
      (e->>'tenant_key')::uuid, (e->>'event_id')::uuid, (e->>'occurred_at')::timestamptz,
      (e->>'tenant_id')::uuid, e->>'actor_id', e->>'action', e->>'resource_type', e->>'resource_id',
      e->>'outcome', (e->>'status')::integer, e->>'correlation_id', e->>'ip',
      (e->>'vertical_id')::uuid, (e->>'program_id')::uuid, e->>'severity',
      CASE WHEN e->'details' = 'null'::jsonb THEN NULL ELSE e->'details' END, e->>'canonical');
  END LOOP;
END
$$;
