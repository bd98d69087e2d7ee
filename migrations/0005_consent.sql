-- Consent: per person and per vertical, never overwritten (a version row per change), with
-- evidence attachments stored in the database.

CREATE TABLE attachments (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  content_type text NOT NULL,
  filename text,
  size integer NOT NULL CHECK (size >= 0),
  sha256 text NOT NULL,
  content bytea NOT NULL,
  created_by text,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id)
);

CREATE TABLE consents (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  person_id uuid NOT NULL,
  vertical_id uuid NOT NULL,
  status text NOT NULL CHECK (status IN ('pending', 'active', 'rejected', 'expired', 'withdrawn')),
  active_from timestamptz NOT NULL,
  active_until timestamptz,
  grace_until timestamptz,
  capture_mode text NOT NULL CHECK (capture_mode IN ('online', 'offline')),
  captured_by text NOT NULL,
  captured_at timestamptz NOT NULL DEFAULT now(),
  evidence_attachment_ids uuid[] NOT NULL DEFAULT '{}',
  verification_document_attachment_id uuid,
  verified_by text,
  verified_at timestamptz,
  rejected_by text,
  rejected_at timestamptz,
  withdrawn_at timestamptz,
  expired_at timestamptz,
  reason_code text,
  reason_text text,
  version_id integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, person_id) REFERENCES persons (tenant_id, id),
  FOREIGN KEY (tenant_id, vertical_id) REFERENCES verticals (tenant_id, id),
  CHECK (active_until IS NULL OR active_until > active_from)
);
-- The access decision reads consents of a page of persons at once.
CREATE INDEX consents_person ON consents (tenant_id, person_id, vertical_id);
-- The expiry job finds active consents whose window has passed.
CREATE INDEX consents_due ON consents (active_until) WHERE status = 'active' AND active_until IS NOT NULL;

CREATE TABLE consent_versions (
  tenant_id uuid NOT NULL,
  consent_id uuid NOT NULL,
  version_id integer NOT NULL,
  status text NOT NULL,
  active_from timestamptz NOT NULL,
  active_until timestamptz,
  grace_until timestamptz,
  capture_mode text NOT NULL,
  evidence_attachment_ids uuid[] NOT NULL,
  verification_document_attachment_id uuid,
  captured_by text NOT NULL,
  captured_at timestamptz NOT NULL,
  changed_by text,
  changed_at timestamptz NOT NULL DEFAULT now(),
  change text NOT NULL,
  reason_code text,
  reason_text text,
  PRIMARY KEY (tenant_id, consent_id, version_id),
  FOREIGN KEY (tenant_id, consent_id) REFERENCES consents (tenant_id, id)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['attachments', 'consents', 'consent_versions']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO hearth_app USING (tenant_id = app_tenant_id()) '
      'WITH CHECK (tenant_id = app_tenant_id())', t);
  END LOOP;
END
$$;
