-- Integrations: partner systems of one tenant, their governance lifecycle, their data contracts
-- and the shared registry of templates (docs/decisions/0006-integration-lifecycle.md).
-- Exchange logs and webhooks reference integrations and contracts by (tenant_id, id); a contract
-- is also unique as (tenant_id, integration_id, id) so a referencing row can prove that its
-- contract belongs to its integration.

-- Templates are global reference data: no tenant, readable by every tenant transaction, written
-- only by ROOT outside any tenant (the application role may read them, never write them).
CREATE TABLE integration_templates (
  id uuid PRIMARY KEY,
  template_name text NOT NULL CHECK (length(btrim(template_name)) BETWEEN 1 AND 200),
  partner_type text NOT NULL CHECK (partner_type IN ('government', 'NGO', 'private', 'international')),
  -- Vertical CODES (HEALTH, EDU…): verticals are per tenant, so templates name them by code and
  -- instantiation maps the codes to the target tenant's vertical ids.
  vertical_codes text[] NOT NULL CHECK (cardinality(vertical_codes) >= 1),
  contract_template jsonb NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deprecated')),
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX integration_templates_name ON integration_templates (lower(template_name));
REVOKE INSERT, UPDATE ON integration_templates FROM hearth_app;

CREATE TABLE integrations (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  integration_name text NOT NULL CHECK (length(btrim(integration_name)) BETWEEN 1 AND 200),
  partner_name text NOT NULL CHECK (length(btrim(partner_name)) BETWEEN 1 AND 200),
  partner_type text NOT NULL CHECK (partner_type IN ('government', 'NGO', 'private', 'international')),
  vertical_ids uuid[] NOT NULL CHECK (cardinality(vertical_ids) >= 1),
  active_from timestamptz NOT NULL,
  active_until timestamptz,
  data_contract_ref text,
  template_id uuid REFERENCES integration_templates (id),
  status text NOT NULL DEFAULT 'draft' CHECK (status IN (
    'draft', 'requested', 'reviewed', 'approved', 'active', 'restricted', 'suspended', 'deprecated', 'archived')),
  -- The integration's own API client (client_id of api_clients), issued on first activation.
  auth_client_id text,
  requested_at timestamptz,
  requested_by text,
  request_reason_code text,
  request_reason_text text,
  reviewed_at timestamptz,
  reviewed_by text,
  review_notes text,
  review_decision text CHECK (review_decision IN ('reviewed', 'returned')),
  approved_at timestamptz,
  approved_by text,
  approval_reason_code text,
  approval_reason_text text,
  activated_at timestamptz,
  restricted_at timestamptz,
  suspended_at timestamptz,
  deprecated_at timestamptz,
  archived_at timestamptz,
  -- Reason of the last restrict / suspend / deprecate / archive.
  status_reason_code text,
  status_reason_text text,
  version_id integer NOT NULL DEFAULT 1,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  CHECK (active_until IS NULL OR active_until > active_from),
  CHECK (status NOT IN ('active', 'restricted', 'suspended') OR auth_client_id IS NOT NULL)
);
CREATE INDEX integrations_status ON integrations (tenant_id, status, id);
CREATE INDEX integrations_verticals ON integrations USING gin (vertical_ids);
-- A name is unique among the tenant's integrations that are not archived.
CREATE UNIQUE INDEX integrations_name ON integrations (tenant_id, lower(integration_name))
  WHERE status <> 'archived';

-- One row per change of an integration: who, when, which fields (old and new), and for status
-- changes the transition with its reason.
CREATE TABLE integration_versions (
  tenant_id uuid NOT NULL,
  integration_id uuid NOT NULL,
  version_id integer NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  changed_by text,
  source_system text,
  change text NOT NULL,
  fields text[] NOT NULL DEFAULT '{}',
  old_values jsonb,
  new_values jsonb,
  status_from text,
  status_to text,
  reason_code text,
  reason_text text,
  PRIMARY KEY (tenant_id, integration_id, version_id),
  FOREIGN KEY (tenant_id, integration_id) REFERENCES integrations (tenant_id, id)
);

CREATE TABLE integration_contracts (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  integration_id uuid NOT NULL,
  purpose text NOT NULL CHECK (length(btrim(purpose)) BETWEEN 1 AND 2000),
  data_categories text[] NOT NULL CHECK (
    cardinality(data_categories) >= 1
    AND data_categories <@ ARRAY['person', 'household', 'membership', 'relationship']::text[]),
  field_list text[] NOT NULL CHECK (cardinality(field_list) >= 1),
  -- {"vertical_ids": [...]}: each shared record needs an active consent in every listed vertical.
  consent_requirements jsonb NOT NULL,
  active_from timestamptz NOT NULL,
  active_until timestamptz,
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'active', 'archived')),
  activated_at timestamptz,
  activated_by text,
  archived_at timestamptz,
  archived_by text,
  reason_code text,
  reason_text text,
  template_id uuid REFERENCES integration_templates (id),
  version_id integer NOT NULL DEFAULT 1,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, integration_id, id),
  FOREIGN KEY (tenant_id, integration_id) REFERENCES integrations (tenant_id, id),
  CHECK (active_until IS NULL OR active_until > active_from)
);
CREATE INDEX integration_contracts_status ON integration_contracts (tenant_id, integration_id, status, id);

CREATE TABLE integration_contract_versions (
  tenant_id uuid NOT NULL,
  contract_id uuid NOT NULL,
  version_id integer NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  changed_by text,
  source_system text,
  change text NOT NULL,
  fields text[] NOT NULL DEFAULT '{}',
  old_values jsonb,
  new_values jsonb,
  status_from text,
  status_to text,
  reason_code text,
  reason_text text,
  PRIMARY KEY (tenant_id, contract_id, version_id),
  FOREIGN KEY (tenant_id, contract_id) REFERENCES integration_contracts (tenant_id, id)
);

-- Version rows are history: the application appends them and never rewrites them.
REVOKE UPDATE ON integration_versions, integration_contract_versions FROM hearth_app;

ALTER TABLE integrations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE integration_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration_versions TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE integration_contracts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration_contracts TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE integration_contract_versions ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration_contract_versions TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
