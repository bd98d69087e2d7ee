-- Dashboard statistics (docs/decisions/0101-dashboard-statistics.md): counters kept by statement
-- triggers, because a GROUP BY over a tenant's persons took 125-210 ms on 1M rows even as an
-- index-only scan, and the dashboard must answer in under 200 ms. A statement-level trigger sees
-- the whole statement's rows at once (transition tables), so a bulk import adds one upsert per
-- counter it touches, not one per row; an update that changes none of the counted columns writes
-- nothing.

-- One row per (facet, value, status, verification_status): each person counts once in every
-- facet. Facets: 'all' (value ''), 'gender' (the code, NULL unknown), 'birth_month' (YYYY-MM of
-- date_of_birth, NULL unknown: age bands are computed from it at read time) and
-- 'registered_month' (YYYY-MM of created_at).
CREATE TABLE person_counts (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  facet text NOT NULL CHECK (facet IN ('all', 'gender', 'birth_month', 'registered_month')),
  value text,
  status text NOT NULL,
  verification_status text NOT NULL,
  n bigint NOT NULL
);
CREATE UNIQUE INDEX person_counts_key
  ON person_counts (tenant_id, facet, value, status, verification_status) NULLS NOT DISTINCT;

CREATE TABLE household_counts (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  status text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (tenant_id, status)
);

CREATE TABLE consent_counts (
  tenant_id uuid NOT NULL REFERENCES tenants (id),
  vertical_id uuid NOT NULL,
  status text NOT NULL,
  n bigint NOT NULL,
  PRIMARY KEY (tenant_id, vertical_id, status)
);

-- The dashboard's time-dependent consent figures (expiring soon, in grace) are index range counts.
CREATE INDEX consents_active_until ON consents (tenant_id, active_until) WHERE status = 'active';
CREATE INDEX consents_grace_until ON consents (tenant_id, grace_until) WHERE grace_until IS NOT NULL;
-- Recent imports of a tenant.
CREATE INDEX person_imports_created ON person_imports (tenant_id, created_at);

-- The facet rows one person row contributes, signed.
CREATE FUNCTION person_count_rows(sign integer, p_tenant uuid, p_status text, p_verification text,
                                  p_gender text, p_dob date, p_created timestamptz)
RETURNS TABLE (tenant_id uuid, facet text, value text, status text, verification_status text, d integer)
LANGUAGE sql STABLE AS $$
  VALUES (p_tenant, 'all', NULL::text, p_status, p_verification, sign),
         (p_tenant, 'gender', p_gender, p_status, p_verification, sign),
         (p_tenant, 'birth_month', to_char(p_dob, 'YYYY-MM'), p_status, p_verification, sign),
         (p_tenant, 'registered_month', to_char(p_created AT TIME ZONE 'UTC', 'YYYY-MM'), p_status, p_verification, sign)
$$;

-- Which transition rows a trigger call sees, signed: rows that left (old_rows) count -1, rows that
-- arrived (new_rows) +1. (An INSERT trigger has no old_rows, hence the query text per operation.)
CREATE FUNCTION stats_transition_rows(op text, cols text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE op
    WHEN 'INSERT' THEN format('SELECT %s, 1 AS sign FROM new_rows', cols)
    WHEN 'DELETE' THEN format('SELECT %s, -1 AS sign FROM old_rows', cols)
    ELSE format('SELECT %s, -1 AS sign FROM old_rows UNION ALL SELECT %s, 1 FROM new_rows', cols, cols)
  END
$$;

-- Upserts go in key order so that two statements touching the same counters lock them in the same
-- order (no deadlock); a counter whose net change is zero is not written.
CREATE FUNCTION person_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format($q$
    INSERT INTO person_counts AS c (tenant_id, facet, value, status, verification_status, n)
    SELECT * FROM (
      SELECT r.tenant_id, r.facet, r.value, r.status, r.verification_status, sum(r.d) AS s
        FROM (%s) p,
             LATERAL person_count_rows(p.sign, p.tenant_id, p.status, p.verification_status, p.gender,
                                       p.date_of_birth, p.created_at) r
       GROUP BY 1, 2, 3, 4, 5) t
     WHERE s <> 0 ORDER BY 1, 2, 3, 4, 5
    ON CONFLICT (tenant_id, facet, value, status, verification_status) DO UPDATE SET n = c.n + excluded.n
  $q$, stats_transition_rows(TG_OP, 'tenant_id, status, verification_status, gender, date_of_birth, created_at'));
  RETURN NULL;
END
$$;

CREATE FUNCTION household_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format($q$
    INSERT INTO household_counts AS c (tenant_id, status, n)
    SELECT * FROM (SELECT tenant_id, status, sum(sign) AS s FROM (%s) p GROUP BY 1, 2) t
     WHERE s <> 0 ORDER BY 1, 2
    ON CONFLICT (tenant_id, status) DO UPDATE SET n = c.n + excluded.n
  $q$, stats_transition_rows(TG_OP, 'tenant_id, status'));
  RETURN NULL;
END
$$;

CREATE FUNCTION consent_counts_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format($q$
    INSERT INTO consent_counts AS c (tenant_id, vertical_id, status, n)
    SELECT * FROM (SELECT tenant_id, vertical_id, status, sum(sign) AS s FROM (%s) p GROUP BY 1, 2, 3) t
     WHERE s <> 0 ORDER BY 1, 2, 3
    ON CONFLICT (tenant_id, vertical_id, status) DO UPDATE SET n = c.n + excluded.n
  $q$, stats_transition_rows(TG_OP, 'tenant_id, vertical_id, status'));
  RETURN NULL;
END
$$;

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['persons', 'households', 'consents']
  LOOP
    EXECUTE format('CREATE TRIGGER %1$s_counts_insert AFTER INSERT ON %1$I REFERENCING NEW TABLE AS new_rows '
      'FOR EACH STATEMENT EXECUTE FUNCTION %2$I()', t, rtrim(t, 's') || '_counts_apply');
    EXECUTE format('CREATE TRIGGER %1$s_counts_update AFTER UPDATE ON %1$I REFERENCING OLD TABLE AS old_rows '
      'NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION %2$I()', t, rtrim(t, 's') || '_counts_apply');
    EXECUTE format('CREATE TRIGGER %1$s_counts_delete AFTER DELETE ON %1$I REFERENCING OLD TABLE AS old_rows '
      'FOR EACH STATEMENT EXECUTE FUNCTION %2$I()', t, rtrim(t, 's') || '_counts_apply');
  END LOOP;
  FOREACH t IN ARRAY ARRAY['person_counts', 'household_counts', 'consent_counts']
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY tenant_isolation ON %I TO hearth_app USING (tenant_id = app_tenant_id()) '
      'WITH CHECK (tenant_id = app_tenant_id())', t);
  END LOOP;
END
$$;

-- The rows already there.
INSERT INTO person_counts (tenant_id, facet, value, status, verification_status, n)
SELECT r.tenant_id, r.facet, r.value, r.status, r.verification_status, sum(r.d)
  FROM persons p,
       LATERAL person_count_rows(1, p.tenant_id, p.status, p.verification_status, p.gender, p.date_of_birth, p.created_at) r
 GROUP BY 1, 2, 3, 4, 5;
INSERT INTO household_counts (tenant_id, status, n) SELECT tenant_id, status, count(*) FROM households GROUP BY 1, 2;
INSERT INTO consent_counts (tenant_id, vertical_id, status, n)
SELECT tenant_id, vertical_id, status, count(*) FROM consents GROUP BY 1, 2, 3;
