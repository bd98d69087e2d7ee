-- Background jobs: imports, push processing, webhook deliveries, DCI callbacks. A job is written
-- in the same transaction as the request that needs it, so it exists if and only if that
-- request committed. Workers (in the server process or `hearth worker`) claim due jobs with
-- FOR UPDATE SKIP LOCKED; a job whose worker died is claimed again once its lock expires.
CREATE TABLE jobs (
  id uuid PRIMARY KEY,
  -- Null for system jobs (sweeps across tenants).
  tenant_id uuid REFERENCES tenants (id),
  kind text NOT NULL,
  payload jsonb NOT NULL DEFAULT '{}'::jsonb,
  status text NOT NULL DEFAULT 'queued' CHECK (status IN ('queued', 'running', 'done', 'failed')),
  run_at timestamptz NOT NULL DEFAULT now(),
  attempts integer NOT NULL DEFAULT 0,
  max_attempts integer NOT NULL DEFAULT 5 CHECK (max_attempts > 0),
  locked_by text,
  locked_until timestamptz,
  last_error text,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX jobs_due ON jobs (run_at) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_tenant_kind ON jobs (tenant_id, kind, created_at);
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
-- Requests enqueue and read their own tenant's jobs; only workers (no role) see all of them.
CREATE POLICY tenant_isolation ON jobs TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
