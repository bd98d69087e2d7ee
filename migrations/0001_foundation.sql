-- Foundation: extensions both engines carry, and the unprivileged role every tenant-scoped
-- transaction switches to, so row-level security applies even when the service connects as a
-- superuser or as the owner of the tables (both bypass RLS).
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS cube;
CREATE EXTENSION IF NOT EXISTS earthdistance;
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE EXTENSION IF NOT EXISTS citext;
CREATE EXTENSION IF NOT EXISTS pgcrypto;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'hearth_app') THEN
    CREATE ROLE hearth_app NOLOGIN NOSUPERUSER NOBYPASSRLS;
  END IF;
  -- A non-superuser owner must be a member to SET ROLE; a superuser already may.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT hearth_app TO %I', current_user);
  END IF;
END
$$;

GRANT USAGE ON SCHEMA public TO hearth_app;
-- No DELETE for the application role: nothing in Hearth is deleted, only archived or ended.
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE ON TABLES TO hearth_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT USAGE, SELECT ON SEQUENCES TO hearth_app;
GRANT SELECT ON schema_migrations TO hearth_app;

-- The tenant of the current transaction, or NULL outside a tenant-scoped transaction.
CREATE FUNCTION app_tenant_id() RETURNS uuid
LANGUAGE sql STABLE AS $$
  SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid
$$;
