-- One file pull in progress per integration (docs/decisions/0032-exchange-file-output.md): each
-- holds a job runner and stores its whole output, so a partner cannot queue many at once. The
-- service checks first; this index settles two requests that race past the check.
CREATE UNIQUE INDEX integration_exchanges_one_file_pull ON integration_exchanges (tenant_id, integration_id)
  WHERE delivery = 'file' AND status IN ('accepted', 'running');
