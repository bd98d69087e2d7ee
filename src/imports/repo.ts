import type { Queryable } from '../db/database.js';
import type { Job } from '../jobs/queue.js';
import type { ImportStatus } from './schemas.js';
import type { RawRow } from './upload.js';
import type { OnDuplicate } from './validate-row.js';

export interface ImportRow {
  tenant_id: string;
  id: string;
  status: ImportStatus;
  format: 'csv' | 'ndjson';
  on_duplicate: OnDuplicate;
  mode: 'all_or_nothing' | 'best_effort';
  dry_run: boolean;
  filename: string | null;
  byte_size: number;
  sha256: string;
  columns: string[] | null;
  chunk_count: number;
  rows_read: number;
  validated_chunks: number;
  rows_validated: number;
  checked: boolean;
  applied_through: number;
  rows_to_apply: number;
  rows_applied: number;
  rows_valid: number;
  rows_created: number;
  rows_updated: number;
  rows_skipped: number;
  rows_rejected: number;
  error: string | null;
  job_id: string | null;
  idempotency_key: string | null;
  created_by: string;
  created_by_root: boolean;
  source_system: string | null;
  correlation_id: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  staging_purged: boolean;
}

const COLUMNS = `tenant_id, id, status, format, on_duplicate, mode, dry_run, filename, byte_size::float8 AS byte_size,
  sha256, columns, chunk_count, rows_read, validated_chunks, rows_validated, checked, applied_through, rows_to_apply,
  rows_applied, rows_valid, rows_created, rows_updated, rows_skipped, rows_rejected, error, job_id, idempotency_key,
  created_by, created_by_root, source_system, correlation_id, created_at, started_at, finished_at, staging_purged`;

export interface NewImport {
  tenantId: string;
  id: string;
  format: 'csv' | 'ndjson';
  onDuplicate: OnDuplicate;
  mode: 'all_or_nothing' | 'best_effort';
  dryRun: boolean;
  filename: string | null;
  bytes: number;
  sha256: string;
  columns: string[] | null;
  chunks: number;
  rows: number;
  jobId: string;
  idempotencyKey: string | null;
  createdBy: string;
  createdByRoot: boolean;
  sourceSystem: string | null;
  correlationId: string | null;
}

export async function insertImport(q: Queryable, i: NewImport): Promise<ImportRow> {
  const { rows } = await q.query<ImportRow>(
    `INSERT INTO person_imports (tenant_id, id, format, on_duplicate, mode, dry_run, filename, byte_size, sha256, columns,
       chunk_count, rows_read, job_id, idempotency_key, created_by, created_by_root, source_system, correlation_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
     RETURNING ${COLUMNS}`,
    [
      i.tenantId,
      i.id,
      i.format,
      i.onDuplicate,
      i.mode,
      i.dryRun,
      i.filename,
      i.bytes,
      i.sha256,
      i.columns,
      i.chunks,
      i.rows,
      i.jobId,
      i.idempotencyKey,
      i.createdBy,
      i.createdByRoot,
      i.sourceSystem,
      i.correlationId,
    ],
  );
  return rows[0];
}

export async function findImport(
  q: Queryable,
  tenantId: string,
  id: string,
  lock = false,
): Promise<ImportRow | null> {
  const { rows } = await q.query<ImportRow>(
    `SELECT ${COLUMNS} FROM person_imports WHERE tenant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}

export async function findByIdempotencyKey(
  q: Queryable,
  tenantId: string,
  createdBy: string,
  key: string,
): Promise<ImportRow | null> {
  const { rows } = await q.query<ImportRow>(
    `SELECT ${COLUMNS} FROM person_imports WHERE tenant_id = $1 AND created_by = $2 AND idempotency_key = $3`,
    [tenantId, createdBy, key],
  );
  return rows[0] ?? null;
}

export async function listImports(
  q: Queryable,
  tenantId: string,
  before: string | null,
  limit: number,
): Promise<ImportRow[]> {
  const { rows } = await q.query<ImportRow>(
    `SELECT ${COLUMNS} FROM person_imports
      WHERE tenant_id = $1 AND ($2::uuid IS NULL OR id < $2) ORDER BY id DESC LIMIT $3`,
    [tenantId, before, limit],
  );
  return rows;
}

/** Column updates by name (only names of this list reach the SQL). */
const UPDATABLE = new Set([
  'status',
  'validated_chunks',
  'rows_validated',
  'checked',
  'applied_through',
  'rows_to_apply',
  'rows_applied',
  'rows_valid',
  'rows_created',
  'rows_updated',
  'rows_skipped',
  'rows_rejected',
  'error',
  'started_at',
  'finished_at',
  'staging_purged',
]);

export async function updateImport(
  q: Queryable,
  tenantId: string,
  id: string,
  columns: Partial<Record<string, unknown>>,
): Promise<void> {
  const names = Object.keys(columns);
  for (const n of names) if (!UPDATABLE.has(n)) throw new Error(`not an updatable import column: ${n}`);
  await q.query(
    `UPDATE person_imports SET ${names.map((n, i) => `${n} = $${i + 3}`).join(', ')}, updated_at = now()
      WHERE tenant_id = $1 AND id = $2`,
    [tenantId, id, ...names.map((n) => columns[n])],
  );
}

export async function insertChunk(
  q: Queryable,
  tenantId: string,
  importId: string,
  seq: number,
  rows: RawRow[],
): Promise<void> {
  await q.query(
    `INSERT INTO person_import_chunks (tenant_id, import_id, seq, first_row, row_count, data)
     VALUES ($1, $2, $3, $4, $5, $6)`,
    [tenantId, importId, seq, rows[0][0], rows.length, JSON.stringify(rows)],
  );
}

export async function readChunk(
  q: Queryable,
  tenantId: string,
  importId: string,
  seq: number,
): Promise<RawRow[] | null> {
  const { rows } = await q.query<{ data: string }>(
    'SELECT data FROM person_import_chunks WHERE tenant_id = $1 AND import_id = $2 AND seq = $3',
    [tenantId, importId, seq],
  );
  return rows[0] ? (JSON.parse(rows[0].data) as RawRow[]) : null;
}

/** Deletes the scratch rows of a run (chunks and staging; errors and the run itself stay). */
export async function purgeStaging(q: Queryable, tenantId: string, importId: string): Promise<void> {
  for (const table of ['person_import_chunks', 'person_import_identities', 'person_import_rows']) {
    await q.query(`DELETE FROM ${table} WHERE tenant_id = $1 AND import_id = $2`, [tenantId, importId]);
  }
}

export async function rejectedRowCount(q: Queryable, tenantId: string, importId: string): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    'SELECT count(DISTINCT row_no)::int AS n FROM person_import_errors WHERE tenant_id = $1 AND import_id = $2',
    [tenantId, importId],
  );
  return rows[0].n;
}

export interface StoredRowError {
  row_no: number;
  seq: number;
  field: string;
  code: string;
  message: string;
}

export async function listErrors(
  q: Queryable,
  tenantId: string,
  importId: string,
  after: [number, number] | null,
  limit: number,
): Promise<StoredRowError[]> {
  const { rows } = await q.query<StoredRowError>(
    `SELECT row_no, seq, field, code, message FROM person_import_errors
      WHERE tenant_id = $1 AND import_id = $2 AND ($3::int IS NULL OR (row_no, seq) > ($3, $4::int))
      ORDER BY row_no, seq LIMIT $5`,
    [tenantId, importId, after?.[0] ?? null, after?.[1] ?? 0, limit],
  );
  return rows;
}

export async function findGeoIdByCode(q: Queryable, tenantId: string, code: string): Promise<string | null> {
  const { rows } = await q.query<{ id: string }>(
    'SELECT id FROM geo_areas WHERE tenant_id = $1 AND code = $2',
    [tenantId, code],
  );
  return rows[0]?.id ?? null;
}

/** Open runs whose job ended (failed for good, or done without closing the run). Cross-tenant: system only. */
export async function openImportsWithEndedJobs(
  q: Queryable,
): Promise<{ tenant_id: string; id: string; last_error: string | null }[]> {
  const { rows } = await q.query<{ tenant_id: string; id: string; last_error: string | null }>(
    `SELECT i.tenant_id, i.id, j.last_error FROM person_imports i JOIN jobs j ON j.id = i.job_id
      WHERE i.status IN ('queued', 'validating', 'running') AND j.status IN ('failed', 'done')`,
  );
  return rows;
}

/** Ended runs whose scratch rows are still there (the process stopped before purging). */
export async function unpurgedImports(q: Queryable): Promise<{ tenant_id: string; id: string }[]> {
  const { rows } = await q.query<{ tenant_id: string; id: string }>(
    `SELECT tenant_id, id FROM person_imports
      WHERE NOT staging_purged AND status IN ('completed', 'failed', 'rolled_back')`,
  );
  return rows;
}

/** Chunks of uploads that never became a run (the upload broke off), after a grace period. */
export async function purgeOrphanChunks(q: Queryable, olderThanSeconds: number): Promise<number> {
  const res = await q.query(
    `DELETE FROM person_import_chunks c
      WHERE c.created_at < now() - make_interval(secs => $1)
        AND NOT EXISTS (SELECT 1 FROM person_imports i WHERE i.tenant_id = c.tenant_id AND i.id = c.import_id)`,
    [olderThanSeconds],
  );
  return res.rowCount;
}

/** Claims of import jobs held by a process that is gone: due for another claim now. */
export async function releaseImportJobLocks(q: Queryable, kind: string): Promise<number> {
  const res = await q.query(
    `UPDATE jobs SET locked_until = now() - interval '1 second', updated_at = now()
      WHERE kind = $1 AND status = 'running' AND locked_until > now()`,
    [kind],
  );
  return res.rowCount;
}

/** Keeps the claim of a long job alive. */
export { renewJobLock as extendJobLock } from '../jobs/queue.js';

/** Claims one given job (queued, or running with an expired claim) for this process. */
export async function claimJobById(
  q: Queryable,
  jobId: string,
  workerId: string,
  lockSeconds: number,
): Promise<Job | null> {
  const { rows } = await q.query<Job>(
    `UPDATE jobs SET status = 'running', attempts = attempts + 1, locked_by = $2,
            locked_until = now() + make_interval(secs => $3), updated_at = now()
      WHERE id = $1 AND ((status = 'queued') OR (status = 'running' AND locked_until < now()))
      RETURNING id, tenant_id, kind, payload, status, run_at, attempts, max_attempts, last_error`,
    [jobId, workerId, lockSeconds],
  );
  return rows[0] ?? null;
}

/** Current holders of identities of one type (the demo generator links what it imported). */
export async function personIdsByIdentity(
  q: Queryable,
  tenantId: string,
  identityType: string,
  keys: readonly string[],
): Promise<Map<string, string>> {
  const { rows } = await q.query<{ identity_key: string; person_id: string }>(
    `SELECT identity_key, person_id FROM person_identities
      WHERE tenant_id = $1 AND identity_type = $2 AND identity_key = ANY($3::text[])
        AND removed_at IS NULL AND NOT person_archived`,
    [tenantId, identityType, keys],
  );
  return new Map(rows.map((r) => [r.identity_key, r.person_id]));
}

export async function hasPersons(q: Queryable, tenantId: string): Promise<boolean> {
  const { rows } = await q.query('SELECT 1 FROM persons WHERE tenant_id = $1 LIMIT 1', [tenantId]);
  return rows.length > 0;
}
