-- Clients can be changed (PATCH /api/v1/clients/{client_id}, issue 14): each change bumps the
-- client's version (If-Match) and keeps a version row with the old and new values.
ALTER TABLE api_clients ADD COLUMN version_id integer NOT NULL DEFAULT 1;

-- GLOBAL table, like api_clients (ROOT clients belong to no tenant): keyed by the client's row id;
-- row-level security limits the hearth_app role to its tenant's rows, as on api_clients.
CREATE TABLE api_client_versions (
  client_uuid uuid NOT NULL REFERENCES api_clients (id),
  version_id integer NOT NULL,
  tenant_id uuid REFERENCES tenants (id),
  changed_by text NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  fields text[] NOT NULL,
  old_values jsonb NOT NULL,
  new_values jsonb NOT NULL,
  PRIMARY KEY (client_uuid, version_id)
);
ALTER TABLE api_client_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_client_versions TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
