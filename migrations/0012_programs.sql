-- Programmes and enrolment (docs/decisions/0050-programmes-and-enrolment.md), and the identifiers
-- of households, which the OpenSPP API V2 face needs to address a Group by `{system}|{value}`
-- (docs/decisions/0051-v2-identifiers.md).

CREATE TABLE programs (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  code text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$'),
  name text NOT NULL CHECK (length(btrim(name)) BETWEEN 1 AND 300),
  description text,
  vertical_id uuid NOT NULL,
  target_type text NOT NULL CHECK (target_type IN ('individual', 'group')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
  period_start date,
  period_end date,
  eligibility_criteria text,
  archived_at timestamptz,
  status_reason_code text,
  status_reason_text text,
  version_id integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by text,
  source_system text,
  updated_by text,
  last_update_system text,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, vertical_id) REFERENCES verticals (tenant_id, id),
  CHECK (period_end IS NULL OR period_start IS NULL OR period_end >= period_start)
);
-- A code names one programme of the tenant, archived or not (codes are identifiers: never reused).
CREATE UNIQUE INDEX programs_code ON programs (tenant_id, lower(code));
CREATE INDEX programs_vertical ON programs (tenant_id, vertical_id);

-- Further identifiers of a programme (namespace URI + value): the current ones are unique per
-- tenant; replaced ones are kept with the time they stopped being current.
CREATE TABLE program_identifiers (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  program_id uuid NOT NULL,
  system text NOT NULL CHECK (length(system) BETWEEN 3 AND 300),
  value text NOT NULL CHECK (length(value) BETWEEN 1 AND 200),
  created_at timestamptz NOT NULL DEFAULT now(),
  removed_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, program_id) REFERENCES programs (tenant_id, id)
);
CREATE UNIQUE INDEX program_identifiers_current ON program_identifiers (tenant_id, system, value)
  WHERE removed_at IS NULL;
CREATE INDEX program_identifiers_program ON program_identifiers (tenant_id, program_id);

CREATE TABLE program_memberships (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  program_id uuid NOT NULL,
  -- Exactly one beneficiary: a person (individual programmes) or a household (group programmes).
  person_id uuid,
  household_id uuid,
  status text NOT NULL CHECK (status IN ('draft', 'enrolled', 'paused', 'exited', 'not_eligible', 'duplicated')),
  enrollment_date date,
  exit_date date,
  exit_reason text,
  status_reason_code text,
  status_reason_text text,
  version_id integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by text,
  source_system text,
  updated_by text,
  last_update_system text,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, program_id) REFERENCES programs (tenant_id, id),
  FOREIGN KEY (tenant_id, person_id) REFERENCES persons (tenant_id, id),
  FOREIGN KEY (tenant_id, household_id) REFERENCES households (tenant_id, id),
  CHECK ((person_id IS NULL) <> (household_id IS NULL)),
  CHECK (status <> 'enrolled' OR enrollment_date IS NOT NULL),
  CHECK (status <> 'exited' OR exit_date IS NOT NULL),
  CHECK (exit_date IS NULL OR enrollment_date IS NULL OR exit_date >= enrollment_date)
);
-- One live membership per beneficiary and programme: the index decides, so two concurrent
-- enrolments cannot both succeed. Closed ones (exited, not eligible, duplicated) stay as history.
CREATE UNIQUE INDEX program_memberships_live ON program_memberships
  (tenant_id, program_id, COALESCE(person_id, household_id))
  WHERE status IN ('draft', 'enrolled', 'paused');
CREATE INDEX program_memberships_program ON program_memberships (tenant_id, program_id, id);
CREATE INDEX program_memberships_person ON program_memberships (tenant_id, person_id) WHERE person_id IS NOT NULL;
CREATE INDEX program_memberships_household ON program_memberships (tenant_id, household_id)
  WHERE household_id IS NOT NULL;

-- Identifiers of households (id-type vocabulary codes), kept like person identities: replaced
-- sets keep their history with removed_at, and the live ones are unique per tenant and type.
CREATE TABLE household_identities (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  household_id uuid NOT NULL,
  identity_type text NOT NULL,
  identity_number text NOT NULL,
  identity_key text NOT NULL,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired', 'revoked', 'invalid')),
  created_at timestamptz NOT NULL DEFAULT now(),
  removed_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, household_id) REFERENCES households (tenant_id, id)
);
CREATE UNIQUE INDEX household_identities_unique ON household_identities (tenant_id, identity_type, identity_key)
  WHERE status <> 'invalid' AND removed_at IS NULL;
CREATE INDEX household_identities_household ON household_identities (tenant_id, household_id);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['programs', 'program_identifiers', 'program_memberships', 'household_identities']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO hearth_app USING (tenant_id = app_tenant_id()) '
      'WITH CHECK (tenant_id = app_tenant_id())', t);
  END LOOP;
END
$$;
