-- Person and household registry: vocabularies, geo areas, extension schemas, persons with their
-- identities and contacts, households, memberships, family relationships and version history.

CREATE TABLE vocabularies (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  code text NOT NULL,
  namespace text NOT NULL,
  name text NOT NULL,
  extendable boolean NOT NULL DEFAULT true,
  PRIMARY KEY (tenant_id, code)
);

CREATE TABLE vocabulary_codes (
  tenant_id uuid NOT NULL,
  vocabulary text NOT NULL,
  code text NOT NULL CHECK (code ~ '^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$'),
  display text NOT NULL,
  is_system boolean NOT NULL DEFAULT false,
  deprecated boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, vocabulary, code),
  FOREIGN KEY (tenant_id, vocabulary) REFERENCES vocabularies (tenant_id, code)
);

CREATE TABLE geo_areas (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  code text,
  parent_id uuid,
  name text NOT NULL,
  level integer NOT NULL CHECK (level BETWEEN 0 AND 20),
  centroid_lat double precision CHECK (centroid_lat BETWEEN -90 AND 90),
  centroid_lon double precision CHECK (centroid_lon BETWEEN -180 AND 180),
  -- Ancestors and self, root first: descendants of X are the rows whose path contains X.
  path uuid[] NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, id),
  UNIQUE (tenant_id, code),
  FOREIGN KEY (tenant_id, parent_id) REFERENCES geo_areas (tenant_id, id),
  CHECK ((centroid_lat IS NULL) = (centroid_lon IS NULL))
);
CREATE INDEX geo_areas_path ON geo_areas USING gin (path);
CREATE INDEX geo_areas_centroid ON geo_areas USING gist (tenant_id, ll_to_earth(centroid_lat, centroid_lon))
  WHERE centroid_lat IS NOT NULL;

CREATE TABLE extension_schemas (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  name text NOT NULL CHECK (name ~ '^[a-z][a-z0-9_]{1,40}$'),
  namespace text NOT NULL,
  applies_to text NOT NULL CHECK (applies_to IN ('person', 'household', 'both')),
  schema jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE persons (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  system_guid uuid NOT NULL UNIQUE,
  full_name text NOT NULL CHECK (length(btrim(full_name)) > 0),
  given_name text,
  family_name text,
  additional_name text,
  date_of_birth date,
  birth_date_estimated boolean NOT NULL DEFAULT false,
  gender text,
  birth_place text,
  address jsonb,
  geo_id uuid,
  household_id uuid,
  extensions jsonb NOT NULL DEFAULT '{}'::jsonb,
  verification_status text NOT NULL DEFAULT 'provisional' CHECK (verification_status IN ('provisional', 'verified')),
  verified_by text,
  verified_at timestamptz,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
  archived_at timestamptz,
  status_reason_code text,
  status_reason_text text,
  version_id integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by text,
  source_system text,
  collection_method text NOT NULL DEFAULT 'api',
  updated_by text,
  last_update_system text,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, geo_id) REFERENCES geo_areas (tenant_id, id)
);
CREATE INDEX persons_name_trgm ON persons USING gin (lower(full_name) gin_trgm_ops);
CREATE INDEX persons_birth ON persons (tenant_id, date_of_birth);
CREATE INDEX persons_household ON persons (tenant_id, household_id);
CREATE INDEX persons_geo ON persons (tenant_id, geo_id);
CREATE INDEX persons_updated ON persons (tenant_id, updated_at, id);

CREATE TABLE person_identities (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  person_id uuid NOT NULL,
  identity_type text NOT NULL,
  identity_number text NOT NULL,
  -- Upper case without spaces, dots or dashes: "12-345 67" and "1234567" are the same number.
  identity_key text NOT NULL,
  expiry_date date,
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'expired', 'revoked', 'invalid')),
  description text,
  -- Copied from the person so the uniqueness index can leave archived persons out.
  person_archived boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  -- Replaced identities are kept with the time they stopped being current.
  removed_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, person_id) REFERENCES persons (tenant_id, id)
);
-- National ids are unique per tenant among non-archived persons: the index decides, never a
-- search before the insert, so two concurrent creates cannot both succeed.
CREATE UNIQUE INDEX person_identities_unique ON person_identities (tenant_id, identity_type, identity_key)
  WHERE NOT person_archived AND status <> 'invalid' AND removed_at IS NULL;
CREATE INDEX person_identities_key ON person_identities (tenant_id, identity_key);
CREATE INDEX person_identities_person ON person_identities (tenant_id, person_id);

CREATE TABLE person_contacts (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  person_id uuid NOT NULL,
  type text NOT NULL,
  value text NOT NULL,
  value_key text NOT NULL,
  is_primary boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  removed_at timestamptz,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, person_id) REFERENCES persons (tenant_id, id)
);
CREATE INDEX person_contacts_key ON person_contacts (tenant_id, value_key);
CREATE INDEX person_contacts_person ON person_contacts (tenant_id, person_id);

CREATE TABLE households (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  household_name text NOT NULL CHECK (length(btrim(household_name)) > 0),
  leader_id uuid NOT NULL,
  geo_id uuid,
  address jsonb,
  status text NOT NULL DEFAULT 'provisional' CHECK (status IN ('provisional', 'verified', 'archived')),
  status_before_archive text,
  geo_lat double precision CHECK (geo_lat BETWEEN -90 AND 90),
  geo_lon double precision CHECK (geo_lon BETWEEN -180 AND 180),
  geo_accuracy double precision CHECK (geo_accuracy >= 0),
  geo_captured_at timestamptz,
  group_kind text NOT NULL DEFAULT 'household',
  extensions jsonb NOT NULL DEFAULT '{}'::jsonb,
  archived_at timestamptz,
  status_reason_code text,
  status_reason_text text,
  version_id integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by text,
  source_system text,
  collection_method text NOT NULL DEFAULT 'api',
  updated_by text,
  last_update_system text,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, leader_id) REFERENCES persons (tenant_id, id),
  FOREIGN KEY (tenant_id, geo_id) REFERENCES geo_areas (tenant_id, id),
  CHECK ((geo_lat IS NULL) = (geo_lon IS NULL))
);
CREATE INDEX households_position ON households USING gist (tenant_id, ll_to_earth(geo_lat, geo_lon))
  WHERE geo_lat IS NOT NULL;
CREATE INDEX households_geo ON households (tenant_id, geo_id);
CREATE INDEX households_leader ON households (tenant_id, leader_id);
ALTER TABLE persons ADD FOREIGN KEY (tenant_id, household_id) REFERENCES households (tenant_id, id);

CREATE TABLE household_members (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  household_id uuid NOT NULL,
  person_id uuid NOT NULL,
  relationship_type text NOT NULL,
  effective_from date NOT NULL,
  effective_until date,
  verification_status text NOT NULL DEFAULT 'provisional' CHECK (verification_status IN ('provisional', 'verified')),
  ended_at timestamptz,
  end_reason_code text,
  end_reason_text text,
  version_id integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by text,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, household_id) REFERENCES households (tenant_id, id),
  FOREIGN KEY (tenant_id, person_id) REFERENCES persons (tenant_id, id),
  CHECK (effective_until IS NULL OR effective_until >= effective_from)
);
-- One open membership per person and household; ended ones stay as history.
CREATE UNIQUE INDEX household_members_open ON household_members (tenant_id, household_id, person_id)
  WHERE ended_at IS NULL;
CREATE INDEX household_members_person ON household_members (tenant_id, person_id);

CREATE TABLE relationships (
  tenant_id uuid NOT NULL,
  id uuid NOT NULL,
  person_id uuid NOT NULL,
  related_person_id uuid NOT NULL,
  relationship_type text NOT NULL CHECK (relationship_type IN ('parent', 'mother', 'father', 'spouse', 'guardian')),
  effective_from date NOT NULL,
  effective_until date,
  verification_status text NOT NULL DEFAULT 'provisional' CHECK (verification_status IN ('provisional', 'verified')),
  status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'ended')),
  reason_code text,
  reason_text text,
  version_id integer NOT NULL DEFAULT 1,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  created_by text,
  PRIMARY KEY (tenant_id, id),
  FOREIGN KEY (tenant_id, person_id) REFERENCES persons (tenant_id, id),
  FOREIGN KEY (tenant_id, related_person_id) REFERENCES persons (tenant_id, id),
  CHECK (person_id <> related_person_id),
  CHECK (effective_until IS NULL OR effective_until >= effective_from)
);
CREATE INDEX relationships_person ON relationships (tenant_id, person_id);
CREATE INDEX relationships_related ON relationships (tenant_id, related_person_id);

-- Every change of a registry record: who, when, which fields, old and new values.
CREATE TABLE record_versions (
  tenant_id uuid NOT NULL,
  resource_type text NOT NULL,
  resource_id uuid NOT NULL,
  version_id integer NOT NULL,
  changed_at timestamptz NOT NULL DEFAULT now(),
  changed_by text,
  source_system text,
  change text NOT NULL,
  fields text[] NOT NULL DEFAULT '{}',
  old_values jsonb,
  new_values jsonb,
  reason_code text,
  reason_text text,
  PRIMARY KEY (tenant_id, resource_type, resource_id, version_id)
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['vocabularies', 'vocabulary_codes', 'geo_areas', 'extension_schemas', 'persons',
    'person_identities', 'person_contacts', 'households', 'household_members', 'relationships', 'record_versions']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO hearth_app USING (tenant_id = app_tenant_id()) '
      'WITH CHECK (tenant_id = app_tenant_id())', t);
  END LOOP;
END
$$;
