import type { Queryable } from '../db/database.js';
import type { FieldError } from '../http/errors.js';
import { NIL_UUID } from '../lib/ids.js';
import type {
  Exchange,
  ExchangeDelivery,
  ExchangeFormat,
  ExchangeStatus,
  RecordOutcome,
  RecordResult,
} from './exchange-schemas.js';

export interface ExchangeRow {
  tenant_id: string;
  id: string;
  integration_id: string;
  contract_id: string | null;
  requested_contract_id: string | null;
  direction: 'push' | 'pull';
  status: ExchangeStatus;
  format: ExchangeFormat | null;
  refused: boolean;
  idempotency_key: string | null;
  payload_hash: string | null;
  client_id: string | null;
  correlation_id: string | null;
  data_categories: string[];
  filters: Record<string, unknown>;
  consent_checks: Record<string, unknown>;
  records_received: number;
  records_created: number;
  records_updated: number;
  records_rejected: number;
  records_returned: number;
  next_cursor: string | null;
  error_code: string | null;
  error_detail: string | null;
  received_at: Date;
  started_at: Date | null;
  completed_at: Date | null;
  delivery: ExchangeDelivery;
  output_chunks: number | null;
  output_bytes: number | string | null;
  output_expires_at: Date | null;
}

/** Where a file pull's output is fetched (docs/decisions/0032-exchange-file-output.md). */
export const outputFileRef = (integrationId: string, exchangeId: string): string =>
  `/api/v1/integrations/${integrationId}/exchanges/${exchangeId}/output`;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toExchange(r: ExchangeRow): Exchange {
  return {
    exchange_id: r.id,
    tenant_id: r.tenant_id,
    integration_id: r.integration_id,
    contract_id: r.contract_id,
    requested_contract_id: r.requested_contract_id,
    direction: r.direction,
    status: r.status,
    format: r.format,
    idempotency_key: r.idempotency_key,
    client_id: r.client_id,
    correlation_id: r.correlation_id,
    data_categories: r.data_categories,
    filters: r.filters,
    consent_checks: r.consent_checks,
    records_received: r.records_received,
    records_created: r.records_created,
    records_updated: r.records_updated,
    records_rejected: r.records_rejected,
    records_returned: r.records_returned,
    next_cursor: r.next_cursor,
    error: r.error_code ? { code: r.error_code, detail: r.error_detail } : null,
    received_at: r.received_at.toISOString(),
    started_at: iso(r.started_at),
    completed_at: iso(r.completed_at),
    delivery: r.delivery,
    output_file_ref: r.delivery === 'file' ? outputFileRef(r.integration_id, r.id) : null,
    output_bytes: r.output_bytes === null ? null : Number(r.output_bytes),
    output_expires_at: iso(r.output_expires_at),
  };
}

export interface NewExchange {
  tenantId: string;
  id: string;
  integrationId: string;
  contractId: string | null;
  requestedContractId: string | null;
  direction: 'push' | 'pull';
  status: ExchangeStatus;
  format: ExchangeFormat | null;
  refused?: boolean;
  idempotencyKey?: string | null;
  payloadHash?: string | null;
  clientId: string | null;
  correlationId: string | null;
  dataCategories?: readonly string[];
  filters?: Record<string, unknown>;
  consentChecks?: Record<string, unknown>;
  recordsReceived?: number;
  errorCode?: string | null;
  errorDetail?: string | null;
  /** Refusals and pulls start at once; accepted pushes and file pulls start in their job. */
  started?: boolean;
  completed?: boolean;
  delivery?: ExchangeDelivery;
}

export async function insertExchange(q: Queryable, e: NewExchange): Promise<ExchangeRow> {
  const { rows } = await q.query<ExchangeRow>(
    `INSERT INTO integration_exchanges (tenant_id, id, integration_id, contract_id, requested_contract_id,
       direction, status, format, refused, idempotency_key, payload_hash, client_id, correlation_id,
       data_categories, filters, consent_checks, records_received, error_code, error_detail, started_at,
       completed_at, delivery)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14::text[], $15::jsonb, $16::jsonb, $17,
       $18, $19, CASE WHEN $20::boolean THEN now() END, CASE WHEN $21::boolean THEN now() END, $22)
     RETURNING *`,
    [
      e.tenantId,
      e.id,
      e.integrationId,
      e.contractId,
      e.requestedContractId?.slice(0, 200) ?? null,
      e.direction,
      e.status,
      e.format,
      e.refused ?? false,
      e.idempotencyKey ?? null,
      e.payloadHash ?? null,
      e.clientId,
      e.correlationId,
      e.dataCategories ?? [],
      JSON.stringify(e.filters ?? {}),
      JSON.stringify(e.consentChecks ?? {}),
      e.recordsReceived ?? 0,
      e.errorCode ?? null,
      e.errorDetail?.slice(0, 2000) ?? null,
      e.started ?? false,
      e.completed ?? false,
      e.delivery ?? 'inline',
    ],
  );
  return rows[0];
}

export async function findExchange(
  q: Queryable,
  tenantId: string,
  integrationId: string,
  id: string,
  forUpdate = false,
): Promise<ExchangeRow | null> {
  const { rows } = await q.query<ExchangeRow>(
    `SELECT * FROM integration_exchanges WHERE tenant_id = $1 AND integration_id = $2 AND id = $3
     ${forUpdate ? 'FOR UPDATE' : ''}`,
    [tenantId, integrationId, id],
  );
  return rows[0] ?? null;
}

/** The accepted push that holds this idempotency key, if any. */
export async function findByIdempotencyKey(
  q: Queryable,
  tenantId: string,
  integrationId: string,
  key: string,
): Promise<ExchangeRow | null> {
  const { rows } = await q.query<ExchangeRow>(
    `SELECT * FROM integration_exchanges
      WHERE tenant_id = $1 AND integration_id = $2 AND idempotency_key = $3 AND NOT refused`,
    [tenantId, integrationId, key],
  );
  return rows[0] ?? null;
}

export async function listExchanges(
  q: Queryable,
  f: {
    tenantId: string;
    integrationId: string;
    status?: string;
    direction?: string;
    since?: string;
    afterId: string | null;
    limit: number;
  },
): Promise<ExchangeRow[]> {
  const { rows } = await q.query<ExchangeRow>(
    `SELECT * FROM integration_exchanges
      WHERE tenant_id = $1 AND integration_id = $2 AND ($3::text IS NULL OR status = $3)
        AND ($4::text IS NULL OR direction = $4) AND ($5::timestamptz IS NULL OR received_at >= $5)
        AND id > $6
      ORDER BY id LIMIT $7`,
    [
      f.tenantId,
      f.integrationId,
      f.status ?? null,
      f.direction ?? null,
      f.since ?? null,
      f.afterId ?? NIL_UUID,
      f.limit + 1,
    ],
  );
  return rows;
}

export interface ExchangeFinish {
  status: 'running' | 'completed' | 'failed';
  recordsReturned?: number;
  nextCursor?: string | null;
  errorCode?: string | null;
  errorDetail?: string | null;
  /** A file pull's output, complete: its size and how long it is kept. */
  output?: { chunks: number; bytes: number; keepSeconds: number };
}

/** Moves an exchange on; counts of pushes are taken from its records. */
export async function finishExchange(
  q: Queryable,
  tenantId: string,
  id: string,
  f: ExchangeFinish,
): Promise<ExchangeRow> {
  const { rows } = await q.query<ExchangeRow>(
    `UPDATE integration_exchanges e
        SET status = $3,
            started_at = COALESCE(e.started_at, now()),
            completed_at = CASE WHEN $3 IN ('completed', 'failed') THEN now() END,
            records_returned = COALESCE($4, e.records_returned),
            next_cursor = COALESCE($5, e.next_cursor),
            error_code = COALESCE($6, e.error_code),
            error_detail = COALESCE($7, e.error_detail),
            output_chunks = COALESCE($8, e.output_chunks),
            output_bytes = COALESCE($9, e.output_bytes),
            output_expires_at = COALESCE(now() + make_interval(secs => $10::int), e.output_expires_at),
            records_created = (SELECT count(*) FROM integration_exchange_records r
                                WHERE r.tenant_id = e.tenant_id AND r.exchange_id = e.id AND r.outcome = 'created'),
            records_updated = (SELECT count(*) FROM integration_exchange_records r
                                WHERE r.tenant_id = e.tenant_id AND r.exchange_id = e.id AND r.outcome = 'updated'),
            records_rejected = (SELECT count(*) FROM integration_exchange_records r
                                WHERE r.tenant_id = e.tenant_id AND r.exchange_id = e.id AND r.outcome = 'rejected')
      WHERE e.tenant_id = $1 AND e.id = $2
      RETURNING *`,
    [
      tenantId,
      id,
      f.status,
      f.recordsReturned ?? null,
      f.nextCursor ?? null,
      f.errorCode ?? null,
      f.errorDetail?.slice(0, 2000) ?? null,
      f.output?.chunks ?? null,
      f.output?.bytes ?? null,
      f.output?.keepSeconds ?? null,
    ],
  );
  return rows[0];
}

// ------------------------------------------------------------------ file outputs

/**
 * Starts (or restarts) the writing of a file pull: status running and a fresh start time, which
 * is the attempt's fence. A writer whose fence no longer matches has been superseded by a later
 * attempt (its job's lock expired and another worker took it over) and must stop writing.
 */
export async function startFileRun(q: Queryable, tenantId: string, id: string): Promise<Date> {
  const { rows } = await q.query<{ started_at: Date }>(
    `UPDATE integration_exchanges
        SET status = 'running', started_at = date_trunc('milliseconds', clock_timestamp()), completed_at = NULL
      WHERE tenant_id = $1 AND id = $2
      RETURNING started_at`,
    [tenantId, id],
  );
  return rows[0].started_at;
}

/** Does the attempt started at `fence` still own the file pull? Locks the row against a restart. */
export async function holdsFileRun(
  q: Queryable,
  tenantId: string,
  id: string,
  fence: Date,
): Promise<boolean> {
  const { rows } = await q.query<{ status: string; started_at: Date | null }>(
    `SELECT status, started_at FROM integration_exchanges WHERE tenant_id = $1 AND id = $2 FOR SHARE`,
    [tenantId, id],
  );
  const row = rows[0];
  return row?.status === 'running' && row.started_at?.getTime() === fence.getTime();
}

export async function insertOutputChunk(
  q: Queryable,
  tenantId: string,
  exchangeId: string,
  chunkNo: number,
  data: Buffer,
): Promise<void> {
  await q.query(
    `INSERT INTO integration_exchange_outputs (tenant_id, exchange_id, chunk_no, data) VALUES ($1, $2, $3, $4)`,
    [tenantId, exchangeId, chunkNo, data],
  );
}

export async function readOutputChunk(
  q: Queryable,
  tenantId: string,
  exchangeId: string,
  chunkNo: number,
): Promise<Buffer | null> {
  const { rows } = await q.query<{ data: Uint8Array }>(
    `SELECT data FROM integration_exchange_outputs WHERE tenant_id = $1 AND exchange_id = $2 AND chunk_no = $3`,
    [tenantId, exchangeId, chunkNo],
  );
  return rows[0] ? Buffer.from(rows[0].data) : null;
}

export async function deleteOutput(q: Queryable, tenantId: string, exchangeId: string): Promise<void> {
  await q.query(`DELETE FROM integration_exchange_outputs WHERE tenant_id = $1 AND exchange_id = $2`, [
    tenantId,
    exchangeId,
  ]);
  await q.query(`DELETE FROM integration_exchange_output_persons WHERE tenant_id = $1 AND exchange_id = $2`, [
    tenantId,
    exchangeId,
  ]);
}

/** Records who is in a file pull's output (a chunk at a time, as it is written). */
export async function insertOutputPersons(
  q: Queryable,
  tenantId: string,
  exchangeId: string,
  personIds: readonly string[],
): Promise<void> {
  if (personIds.length === 0) return;
  await q.query(
    `INSERT INTO integration_exchange_output_persons (tenant_id, exchange_id, person_id)
     SELECT $1, $2, id FROM unnest($3::uuid[]) AS id ON CONFLICT DO NOTHING`,
    [tenantId, exchangeId, personIds],
  );
}

/**
 * Whether a person in a file pull's output has, since `since`, had a consent withdrawn, rejected
 * or expired (or passed its end), or been archived: the stored copy no longer reflects consent.
 */
export async function outputConsentChanged(
  q: Queryable,
  tenantId: string,
  exchangeId: string,
  since: Date,
): Promise<boolean> {
  const { rows } = await q.query<{ changed: boolean }>(
    `SELECT EXISTS (
       SELECT 1 FROM integration_exchange_output_persons o
        WHERE o.tenant_id = $1 AND o.exchange_id = $2
          AND (EXISTS (SELECT 1 FROM consents c
                        WHERE c.tenant_id = o.tenant_id AND c.person_id = o.person_id
                          AND ((c.status IN ('withdrawn', 'rejected', 'expired') AND c.updated_at >= $3)
                               OR (c.status = 'active' AND c.active_until > $3 AND c.active_until <= now())))
               OR EXISTS (SELECT 1 FROM persons p
                           WHERE p.tenant_id = o.tenant_id AND p.id = o.person_id AND p.status <> 'active'))
     ) AS changed`,
    [tenantId, exchangeId, since],
  );
  return rows[0]?.changed === true;
}

/**
 * Deletes the chunks of outputs that expired, a batch of exchanges at a time (all tenants: runs
 * without a tenant). Returns how many exchanges' outputs were deleted.
 */
export async function purgeExpiredOutputs(q: Queryable, batch: number): Promise<number> {
  const { rows } = await q.query<{ n: number }>(
    `WITH expired AS (
       SELECT tenant_id, id FROM integration_exchanges
        WHERE output_expires_at <= now() AND output_chunks > 0
        ORDER BY output_expires_at LIMIT $1),
     gone AS (
       DELETE FROM integration_exchange_outputs o USING expired e
        WHERE o.tenant_id = e.tenant_id AND o.exchange_id = e.id),
     gone_persons AS (
       DELETE FROM integration_exchange_output_persons o USING expired e
        WHERE o.tenant_id = e.tenant_id AND o.exchange_id = e.id),
     marked AS (
       UPDATE integration_exchanges x SET output_chunks = 0
         FROM expired e WHERE x.tenant_id = e.tenant_id AND x.id = e.id RETURNING 1)
     SELECT count(*)::int AS n FROM marked`,
    [batch],
  );
  return rows[0]?.n ?? 0;
}

/** Stores the received records of a push, in slices so no statement grows without bound. */
export async function insertRecords(
  q: Queryable,
  tenantId: string,
  exchangeId: string,
  records: readonly Record<string, unknown>[],
): Promise<void> {
  const SLICE = 1000;
  for (let start = 0; start < records.length; start += SLICE) {
    const slice = records.slice(start, start + SLICE);
    await q.query(
      `INSERT INTO integration_exchange_records (tenant_id, exchange_id, record_no, input)
       SELECT $1, $2, x.n, x.input FROM unnest($3::int[], $4::jsonb[]) AS x(n, input)`,
      [tenantId, exchangeId, slice.map((_, i) => start + i + 1), slice.map((r) => JSON.stringify(r))],
    );
  }
}

export interface PendingRecord {
  record_no: number;
  input: Record<string, unknown>;
}

export async function pendingRecords(
  q: Queryable,
  tenantId: string,
  exchangeId: string,
  afterNo: number,
  limit: number,
): Promise<PendingRecord[]> {
  const { rows } = await q.query<PendingRecord>(
    `SELECT record_no, input FROM integration_exchange_records
      WHERE tenant_id = $1 AND exchange_id = $2 AND outcome IS NULL AND record_no > $3
      ORDER BY record_no LIMIT $4`,
    [tenantId, exchangeId, afterNo, limit],
  );
  return rows;
}

export interface RecordOutcomeInput {
  outcome: RecordOutcome;
  personId?: string | null;
  versionId?: number | null;
  errors?: FieldError[] | null;
}

/** Writes the outcome of one record and drops its input. */
export async function setRecordOutcome(
  q: Queryable,
  tenantId: string,
  exchangeId: string,
  recordNo: number,
  r: RecordOutcomeInput,
): Promise<void> {
  await q.query(
    `UPDATE integration_exchange_records
        SET outcome = $4, person_id = $5, version_id = $6, errors = $7::jsonb, input = NULL, processed_at = now()
      WHERE tenant_id = $1 AND exchange_id = $2 AND record_no = $3`,
    [
      tenantId,
      exchangeId,
      recordNo,
      r.outcome,
      r.personId ?? null,
      r.versionId ?? null,
      r.errors ? JSON.stringify(r.errors) : null,
    ],
  );
}

/** Rejects every record not yet processed (the exchange was refused when its job ran). */
export async function rejectPending(
  q: Queryable,
  tenantId: string,
  exchangeId: string,
  errors: FieldError[],
): Promise<void> {
  await q.query(
    `UPDATE integration_exchange_records
        SET outcome = 'rejected', errors = $3::jsonb, input = NULL, processed_at = now()
      WHERE tenant_id = $1 AND exchange_id = $2 AND outcome IS NULL`,
    [tenantId, exchangeId, JSON.stringify(errors)],
  );
}

interface RecordRow {
  record_no: number;
  outcome: RecordOutcome | null;
  person_id: string | null;
  version_id: number | null;
  errors: FieldError[] | null;
  processed_at: Date | null;
}

export async function listRecordResults(
  q: Queryable,
  f: { tenantId: string; exchangeId: string; outcome?: string; afterNo: number; limit: number },
): Promise<RecordResult[]> {
  const { rows } = await q.query<RecordRow>(
    `SELECT record_no, outcome, person_id, version_id, errors, processed_at FROM integration_exchange_records
      WHERE tenant_id = $1 AND exchange_id = $2 AND ($3::text IS NULL OR outcome = $3) AND record_no > $4
      ORDER BY record_no LIMIT $5`,
    [f.tenantId, f.exchangeId, f.outcome ?? null, f.afterNo, f.limit + 1],
  );
  return rows.map((r) => ({
    record: r.record_no,
    outcome: r.outcome,
    person_id: r.person_id,
    version_id: r.version_id,
    errors: r.errors,
    processed_at: iso(r.processed_at),
  }));
}

/** The file pull of this integration still accepted or running, if any, and whether its job still lives. */
export async function fileDeliveryInProgress(
  q: Queryable,
  tenantId: string,
  integrationId: string,
): Promise<{ id: string; jobLive: boolean } | null> {
  const { rows } = await q.query<{ id: string; job_live: boolean }>(
    `SELECT e.id,
            EXISTS (SELECT 1 FROM jobs j
                     WHERE j.tenant_id = e.tenant_id AND j.kind = $3 AND j.payload->>'exchange_id' = e.id::text
                       AND j.status IN ('queued', 'running')) AS job_live
       FROM integration_exchanges e
      WHERE e.tenant_id = $1 AND e.integration_id = $2 AND e.delivery = 'file'
        AND e.status IN ('accepted', 'running')
      LIMIT 1`,
    [tenantId, integrationId, PULL_FILE_JOB_KIND],
  );
  return rows[0] ? { id: rows[0].id, jobLive: rows[0].job_live } : null;
}

/** The job kind that writes a file pull (exchange-pull.ts registers it). */
export const PULL_FILE_JOB_KIND = 'exchange.pull_file';
