-- Who is in a file pull's output (docs/decisions/0032-exchange-file-output.md): the output is a
-- copy made when the job ran, so a fetch first checks that none of these persons has since lost
-- a consent or been archived; if one has, the file is withheld and the partner pulls again.
CREATE TABLE integration_exchange_output_persons (
  tenant_id uuid NOT NULL,
  exchange_id uuid NOT NULL,
  person_id uuid NOT NULL,
  PRIMARY KEY (tenant_id, exchange_id, person_id),
  FOREIGN KEY (tenant_id, exchange_id) REFERENCES integration_exchanges (tenant_id, id)
);

ALTER TABLE integration_exchange_output_persons ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integration_exchange_output_persons TO hearth_app
  USING (tenant_id = app_tenant_id()) WITH CHECK (tenant_id = app_tenant_id());
GRANT DELETE ON integration_exchange_output_persons TO hearth_app;

-- Consents changed since a moment, per person (the fetch check above).
CREATE INDEX consents_person_changed ON consents (tenant_id, person_id, updated_at);
