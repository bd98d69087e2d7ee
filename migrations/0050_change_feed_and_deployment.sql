-- Cross-process cache invalidation and the deployment's identity (docs/decisions/0090).
--
-- cache_changes: one row per change another process may have cached (a client, a tenant and its
-- status or settings, the signing keys). Every process follows it by LISTEN/NOTIFY when that
-- works and by polling this table always, so a pooler that drops notifications (PgBouncer in
-- transaction mode) delays an invalidation by one poll, never by a cache lifetime. Rows are kept
-- minutes, then deleted by any process. A global (reference-free, local) table: no tenant data.
CREATE TABLE cache_changes (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  topic text NOT NULL CHECK (topic ~ '^[a-z_]{1,40}$'),
  key text NOT NULL DEFAULT '' CHECK (length(key) <= 200),
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX cache_changes_at ON cache_changes (at);
REVOKE ALL ON cache_changes FROM hearth_app;

-- deployment: one row naming this deployment. Its issuer is the `iss` of every access token, the
-- same for every process on the database whatever each process's HEARTH_PUBLIC_URL says.
CREATE TABLE deployment (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  issuer text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
REVOKE ALL ON deployment FROM hearth_app;
