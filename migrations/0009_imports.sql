-- Bulk person imports. An upload is parsed as it streams in and staged as chunks of raw rows;
-- a job then validates the chunks into normalised staging rows, runs the set-wise checks
-- (identity duplicates inside the file and against the registry, household references) and
-- applies the valid rows with INSERT … SELECT. The run, its counts and its per-row errors are
-- kept; staging rows are scratch data, deleted when the run ends (the only DELETE grant).

CREATE TABLE person_imports (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  id uuid NOT NULL,
  status text NOT NULL DEFAULT 'queued'
    CHECK (status IN ('queued', 'validating', 'running', 'completed', 'failed', 'rolled_back')),
  format text NOT NULL CHECK (format IN ('csv', 'ndjson')),
  on_duplicate text NOT NULL CHECK (on_duplicate IN ('reject', 'skip', 'update')),
  mode text NOT NULL CHECK (mode IN ('all_or_nothing', 'best_effort')),
  dry_run boolean NOT NULL DEFAULT false,
  filename text,
  byte_size bigint NOT NULL,
  sha256 text NOT NULL,
  columns text[],
  chunk_count integer NOT NULL,
  rows_read integer NOT NULL,
  -- Progress checkpoints: a resumed run continues after them.
  validated_chunks integer NOT NULL DEFAULT 0,
  rows_validated integer NOT NULL DEFAULT 0,
  checked boolean NOT NULL DEFAULT false,
  applied_through integer NOT NULL DEFAULT 0,
  rows_to_apply integer NOT NULL DEFAULT 0,
  rows_applied integer NOT NULL DEFAULT 0,
  rows_valid integer NOT NULL DEFAULT 0,
  rows_created integer NOT NULL DEFAULT 0,
  rows_updated integer NOT NULL DEFAULT 0,
  rows_skipped integer NOT NULL DEFAULT 0,
  rows_rejected integer NOT NULL DEFAULT 0,
  error text,
  job_id uuid,
  idempotency_key text,
  created_by text NOT NULL,
  created_by_root boolean NOT NULL DEFAULT false,
  source_system text,
  correlation_id text,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  staging_purged boolean NOT NULL DEFAULT false,
  PRIMARY KEY (tenant_id, id)
);
-- A client's Idempotency-Key names one run for good.
CREATE UNIQUE INDEX person_imports_idempotency ON person_imports (tenant_id, created_by, idempotency_key)
  WHERE idempotency_key IS NOT NULL;
CREATE INDEX person_imports_open ON person_imports (tenant_id, status) WHERE status IN ('queued', 'validating', 'running');

-- The upload, parsed: `data` is a JSON array of rows (CSV: arrays of cells; NDJSON: the raw lines).
CREATE TABLE person_import_chunks (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  import_id uuid NOT NULL,
  seq integer NOT NULL,
  first_row integer NOT NULL,
  row_count integer NOT NULL,
  data text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (tenant_id, import_id, seq)
);
-- Already compact JSON read once: compressing it costs more than it saves.
ALTER TABLE person_import_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Rows that passed the per-row checks, normalised as POST /persons would store them.
CREATE TABLE person_import_rows (
  tenant_id uuid NOT NULL,
  import_id uuid NOT NULL,
  row_no integer NOT NULL,
  person_id uuid NOT NULL,
  -- Decided by the set-wise checks: update, skip or reject; NULL once checked means create.
  action text CHECK (action IN ('create', 'update', 'skip', 'reject')),
  target_id uuid,
  full_name text NOT NULL,
  given_name text,
  family_name text,
  additional_name text,
  date_of_birth date,
  birth_date_estimated boolean NOT NULL,
  gender text NOT NULL,
  birth_place text,
  address jsonb,
  geo_id uuid,
  household_id uuid,
  relationship_type text,
  extensions jsonb NOT NULL,
  contacts jsonb NOT NULL,
  fields text[] NOT NULL,
  PRIMARY KEY (tenant_id, import_id, row_no)
);

CREATE TABLE person_import_identities (
  tenant_id uuid NOT NULL,
  import_id uuid NOT NULL,
  row_no integer NOT NULL,
  ord smallint NOT NULL,
  identity_type text NOT NULL,
  identity_number text NOT NULL,
  identity_key text NOT NULL,
  expiry_date date,
  status text NOT NULL,
  description text,
  -- Where the number was given (CSV column or JSON path), for error reports.
  source_field text NOT NULL,
  PRIMARY KEY (tenant_id, import_id, row_no, ord)
);

-- Per-row problems: row number, field (CSV column or JSON path), code and message; never the value.
CREATE TABLE person_import_errors (
  tenant_id uuid NOT NULL,
  import_id uuid NOT NULL,
  row_no integer NOT NULL,
  seq smallint NOT NULL,
  field text NOT NULL,
  code text NOT NULL,
  message text NOT NULL,
  PRIMARY KEY (tenant_id, import_id, row_no, seq)
);

-- A UUIDv7 (RFC 9562) in SQL, for ids minted by set-wise inserts (PostgreSQL 15 has no uuidv7()).
CREATE FUNCTION imports_uuidv7() RETURNS uuid
LANGUAGE sql VOLATILE AS $$
  SELECT encode(
    set_bit(set_bit(
      overlay(uuid_send(gen_random_uuid())
              PLACING substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
              FROM 1 FOR 6),
      52, 1), 53, 1),
    'hex')::uuid
$$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['person_imports', 'person_import_chunks', 'person_import_rows',
    'person_import_identities', 'person_import_errors']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO hearth_app USING (tenant_id = app_tenant_id()) '
      'WITH CHECK (tenant_id = app_tenant_id())', t);
  END LOOP;
END
$$;
GRANT DELETE ON person_import_chunks, person_import_rows, person_import_identities TO hearth_app;
