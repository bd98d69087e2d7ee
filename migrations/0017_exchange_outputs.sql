-- Pull results delivered as a file (docs/decisions/0032-exchange-file-output.md): a pull asked
-- with delivery=file runs as a job that writes its output in chunks; the integration fetches it
-- from /api/v1/integrations/{id}/exchanges/{exchange_id}/output until it expires.

ALTER TABLE integration_exchanges
  ADD COLUMN delivery text NOT NULL DEFAULT 'inline' CHECK (delivery IN ('inline', 'file')),
  ADD COLUMN output_chunks integer CHECK (output_chunks >= 0),
  ADD COLUMN output_bytes bigint CHECK (output_bytes >= 0),
  ADD COLUMN output_expires_at timestamptz,
  ADD CONSTRAINT integration_exchanges_file_pull CHECK (delivery = 'inline' OR direction = 'pull');

-- Expired outputs, oldest first, for the retention sweep.
CREATE INDEX integration_exchanges_output_expiry ON integration_exchanges (output_expires_at)
  WHERE output_expires_at IS NOT NULL;

-- The output of a file pull, in order: chunk_no from 1, each a slice of the file's bytes.
CREATE TABLE integration_exchange_outputs (
  tenant_id uuid NOT NULL,
  exchange_id uuid NOT NULL,
  chunk_no integer NOT NULL CHECK (chunk_no >= 1),
  data bytea NOT NULL,
  PRIMARY KEY (tenant_id, exchange_id, chunk_no),
  FOREIGN KEY (tenant_id, exchange_id) REFERENCES integration_exchanges (tenant_id, id)
);

ALTER TABLE integration_exchange_outputs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration_exchange_outputs TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
-- A job that restarts drops what its crashed attempt wrote.
GRANT DELETE ON integration_exchange_outputs TO hearth_app;
