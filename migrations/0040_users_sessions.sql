-- People as principals beside API clients: user accounts, browser sessions, OpenID Connect sign-in
-- state, and the acting user on every audit event (docs/decisions/0080-users-and-sessions.md).
--
-- users, user_sessions and oidc_login_states are GLOBAL tables, like api_clients: a sign-in form
-- carries only a username, and a session cookie arrives before any tenant is known, so they are
-- looked up across tenants. Usernames are unique across the deployment (case-insensitive).
-- Each row of users/user_sessions still carries tenant_id (NULL for ROOT) and row-level security
-- limits the hearth_app role to its tenant's rows.

CREATE TABLE users (
  id uuid PRIMARY KEY,
  tenant_id uuid REFERENCES tenants (id),
  username citext NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$'),
  display_name text CHECK (length(display_name) BETWEEN 1 AND 200),
  email text CHECK (length(email) BETWEEN 3 AND 320),
  -- scrypt hash (src/auth/secrets.ts); NULL for users who sign in only through the identity provider.
  password_hash text,
  -- One-time passwords (CLI, first start, admin reset) must be replaced at the first sign-in.
  password_must_change boolean NOT NULL DEFAULT false,
  roles text[] NOT NULL,
  scopes text[] NOT NULL,
  vertical_ids uuid[] NOT NULL DEFAULT '{}',
  allowed_programs uuid[] NOT NULL DEFAULT '{}',
  active boolean NOT NULL DEFAULT true,
  -- RFC 6238 second factor: base32 secret, whether enrolment was confirmed, last accepted time step
  -- (a code is accepted once).
  totp_secret text,
  totp_enabled boolean NOT NULL DEFAULT false,
  totp_last_step bigint,
  -- Lockout with backoff after repeated failures.
  failed_logins integer NOT NULL DEFAULT 0,
  locked_until timestamptz,
  -- Set for users provisioned from an identity provider (issuer + subject identify them there).
  oidc_issuer text,
  oidc_subject text,
  version_id integer NOT NULL DEFAULT 1,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz,
  CHECK ((tenant_id IS NULL) = ('root' = ANY (roles))),
  CHECK ((oidc_issuer IS NULL) = (oidc_subject IS NULL)),
  UNIQUE (oidc_issuer, oidc_subject)
);
CREATE INDEX users_tenant ON users (tenant_id, id);
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- Browser sessions. The cookie carries a random token; only its SHA-256 is stored, so a copy of
-- this table signs nobody in. Deleting the row ends the session in every process at once.
CREATE TABLE user_sessions (
  token_hash bytea PRIMARY KEY,
  id uuid NOT NULL UNIQUE,
  user_id uuid NOT NULL REFERENCES users (id),
  tenant_id uuid REFERENCES tenants (id),
  csrf_token text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  -- What the session may do before it is complete (password change, TOTP enrolment): NULL = all.
  restriction text CHECK (restriction IN ('password_change', 'totp_enrolment')),
  auth_method text NOT NULL CHECK (auth_method IN ('password', 'oidc')),
  ip text,
  user_agent text
);
CREATE INDEX user_sessions_user ON user_sessions (user_id);
-- Deactivation and password resets end sessions inside the tenant-bound transaction.
GRANT DELETE ON user_sessions TO hearth_app;
CREATE INDEX user_sessions_expiry ON user_sessions (expires_at);
ALTER TABLE user_sessions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON user_sessions TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());

-- OpenID Connect sign-ins in flight (state → PKCE verifier, nonce, return path), so the callback
-- may reach another process than the one that started the sign-in. Rows live for minutes.
CREATE TABLE oidc_login_states (
  state text PRIMARY KEY,
  code_verifier text NOT NULL,
  nonce text NOT NULL,
  return_to text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL
);
REVOKE ALL ON oidc_login_states FROM hearth_app;

-- Audit: the acting user beside the acting client. Events without a user keep their old
-- canonical text (the user is appended to it only when set), so existing chains still verify.
ALTER TABLE audit_events ADD COLUMN user_id text;
CREATE INDEX audit_events_user ON audit_events (tenant_key, user_id, event_id) WHERE user_id IS NOT NULL;

DROP FUNCTION audit_append_many(jsonb);
DROP FUNCTION audit_append(uuid, uuid, timestamptz, uuid, text, text, text, text, text, integer, text,
  text, uuid, uuid, text, jsonb, text);

CREATE FUNCTION audit_append(
  p_tenant_key uuid, p_event_id uuid, p_occurred_at timestamptz, p_tenant_id uuid, p_actor_id text,
  p_action text, p_resource_type text, p_resource_id text, p_outcome text, p_status integer,
  p_correlation_id text, p_ip text, p_vertical_id uuid, p_program_id uuid, p_severity text,
  p_details jsonb, p_canonical text, p_user_id text
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
    severity, details, prev_hash, hash, user_id)
  VALUES (p_tenant_key, v_seq + 1, p_event_id, p_occurred_at, p_tenant_id, p_actor_id, p_action,
    p_resource_type, p_resource_id, p_outcome, p_status, p_correlation_id, p_ip, p_vertical_id,
    p_program_id, p_severity, p_details, v_prev, v_hash, p_user_id);
  UPDATE audit_heads SET seq = v_seq + 1, last_hash = v_hash WHERE tenant_key = p_tenant_key;
END
$$;

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
      CASE WHEN e->'details' = 'null'::jsonb THEN NULL ELSE e->'details' END, e->>'canonical',
      e->>'user_id');
  END LOOP;
END
$$;
