import type { Queryable } from '../db/database.js';

export interface ConsentRow {
  tenant_id: string;
  id: string;
  person_id: string;
  vertical_id: string;
  status: 'pending' | 'active' | 'rejected' | 'expired' | 'withdrawn';
  active_from: Date;
  active_until: Date | null;
  grace_until: Date | null;
  capture_mode: 'online' | 'offline';
  captured_by: string;
  captured_at: Date;
  evidence_attachment_ids: string[];
  verification_document_attachment_id: string | null;
  verified_by: string | null;
  verified_at: Date | null;
  rejected_by: string | null;
  rejected_at: Date | null;
  withdrawn_at: Date | null;
  expired_at: Date | null;
  reason_code: string | null;
  reason_text: string | null;
  version_id: number;
  created_at: Date;
  updated_at: Date;
}

export async function findConsent(
  q: Queryable,
  tenantId: string,
  id: string,
  lock = false,
): Promise<ConsentRow | null> {
  const { rows } = await q.query<ConsentRow>(
    `SELECT * FROM consents WHERE tenant_id = $1 AND id = $2${lock ? ' FOR UPDATE' : ''}`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}

export async function listConsents(
  q: Queryable,
  tenantId: string,
  personId: string,
  filter: { verticalId?: string; status?: string; verticalIds: readonly string[] | null },
): Promise<ConsentRow[]> {
  const { rows } = await q.query<ConsentRow>(
    `SELECT * FROM consents
      WHERE tenant_id = $1 AND person_id = $2 AND ($3::uuid IS NULL OR vertical_id = $3)
        AND ($4::text IS NULL OR status = $4) AND ($5::uuid[] IS NULL OR vertical_id = ANY($5::uuid[]))
      ORDER BY id`,
    [tenantId, personId, filter.verticalId ?? null, filter.status ?? null, filter.verticalIds],
  );
  return rows;
}

export interface ConsentQueueFilter {
  status: string | null;
  verticalId: string | null;
  /** Active consents whose period ends before this time. */
  expiringBefore: Date | null;
  /** Consents past their end, still inside their grace period. */
  inGrace: boolean;
  verticalIds: readonly string[] | null;
  afterId: string | null;
  limit: number;
}

/** The tenant's consents in id order (keyset by id), filtered for a work queue. */
export async function listConsentQueue(
  q: Queryable,
  tenantId: string,
  f: ConsentQueueFilter,
): Promise<ConsentRow[]> {
  const { rows } = await q.query<ConsentRow>(
    `SELECT * FROM consents
      WHERE tenant_id = $1
        AND ($2::text IS NULL OR status = $2)
        AND ($3::uuid IS NULL OR vertical_id = $3)
        AND ($4::timestamptz IS NULL OR (status = 'active' AND active_until IS NOT NULL AND active_until < $4))
        AND (NOT $5::boolean OR (active_until <= now() AND grace_until > now() AND status IN ('active', 'expired')))
        AND ($6::uuid[] IS NULL OR vertical_id = ANY($6::uuid[]))
        AND ($7::uuid IS NULL OR id > $7)
      ORDER BY id
      LIMIT $8`,
    [
      tenantId,
      f.status,
      f.verticalId,
      f.expiringBefore?.toISOString() ?? null,
      f.inGrace,
      f.verticalIds,
      f.afterId,
      f.limit + 1,
    ],
  );
  return rows;
}

export async function insertConsent(
  q: Queryable,
  c: Omit<ConsentRow, 'created_at' | 'updated_at' | 'captured_at'>,
): Promise<void> {
  await q.query(
    `INSERT INTO consents (tenant_id, id, person_id, vertical_id, status, active_from, active_until, grace_until,
       capture_mode, captured_by, evidence_attachment_ids, verification_document_attachment_id, verified_by, verified_at,
       rejected_by, rejected_at, withdrawn_at, expired_at, reason_code, reason_text, version_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`,
    [
      c.tenant_id,
      c.id,
      c.person_id,
      c.vertical_id,
      c.status,
      c.active_from,
      c.active_until,
      c.grace_until,
      c.capture_mode,
      c.captured_by,
      c.evidence_attachment_ids,
      c.verification_document_attachment_id,
      c.verified_by,
      c.verified_at,
      c.rejected_by,
      c.rejected_at,
      c.withdrawn_at,
      c.expired_at,
      c.reason_code,
      c.reason_text,
      c.version_id,
    ],
  );
}

const MUTABLE = new Set([
  'status',
  'active_from',
  'active_until',
  'grace_until',
  'capture_mode',
  'captured_by',
  'captured_at',
  'evidence_attachment_ids',
  'verification_document_attachment_id',
  'verified_by',
  'verified_at',
  'rejected_by',
  'rejected_at',
  'withdrawn_at',
  'expired_at',
  'reason_code',
  'reason_text',
]);

/** Applies a change and bumps version_id; only columns of the list above reach the SQL. */
export async function updateConsent(
  q: Queryable,
  tenantId: string,
  id: string,
  changes: Partial<Record<string, unknown>>,
): Promise<ConsentRow> {
  const names = Object.keys(changes);
  for (const n of names) if (!MUTABLE.has(n)) throw new Error(`not a mutable consent column: ${n}`);
  const sets = names.map((n, i) => `${n} = $${i + 3}`);
  const { rows } = await q.query<ConsentRow>(
    `UPDATE consents SET ${[...sets, 'version_id = version_id + 1', 'updated_at = now()'].join(', ')}
      WHERE tenant_id = $1 AND id = $2 RETURNING *`,
    [tenantId, id, ...names.map((n) => changes[n])],
  );
  return rows[0];
}

/** Consent records are never overwritten: every state is kept as a version row. */
export async function insertConsentVersion(
  q: Queryable,
  c: ConsentRow,
  meta: { change: string; changedBy: string },
): Promise<void> {
  await q.query(
    `INSERT INTO consent_versions (tenant_id, consent_id, version_id, status, active_from, active_until, grace_until,
       capture_mode, evidence_attachment_ids, verification_document_attachment_id, captured_by, captured_at, changed_by,
       change, reason_code, reason_text)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
    [
      c.tenant_id,
      c.id,
      c.version_id,
      c.status,
      c.active_from,
      c.active_until,
      c.grace_until,
      c.capture_mode,
      c.evidence_attachment_ids,
      c.verification_document_attachment_id,
      c.captured_by,
      c.captured_at,
      meta.changedBy,
      meta.change,
      c.reason_code,
      c.reason_text,
    ],
  );
}

/** The subset of ids that are attachments of the tenant. */
export async function existingAttachments(
  q: Queryable,
  tenantId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await q.query<{ id: string }>(
    'SELECT id FROM attachments WHERE tenant_id = $1 AND id = ANY($2::uuid[])',
    [tenantId, ids],
  );
  return new Set(rows.map((r) => r.id));
}

export interface ConsentVersionRow {
  version_id: number;
  status: string;
  active_from: Date;
  active_until: Date | null;
  grace_until: Date | null;
  capture_mode: string;
  evidence_attachment_ids: string[];
  verification_document_attachment_id: string | null;
  captured_by: string;
  captured_at: Date;
  change: string;
  changed_at: Date;
  changed_by: string | null;
  reason_code: string | null;
  reason_text: string | null;
}

/** Version rows of a consent, oldest first (one version when versionId is given). */
export async function listConsentVersions(
  q: Queryable,
  tenantId: string,
  consentId: string,
  versionId: number | null,
): Promise<ConsentVersionRow[]> {
  const { rows } = await q.query<ConsentVersionRow>(
    `SELECT version_id, status, active_from, active_until, grace_until, capture_mode, evidence_attachment_ids,
            verification_document_attachment_id, captured_by, captured_at, change, changed_at, changed_by, reason_code,
            reason_text
       FROM consent_versions WHERE tenant_id = $1 AND consent_id = $2 AND ($3::int IS NULL OR version_id = $3)
      ORDER BY version_id`,
    [tenantId, consentId, versionId],
  );
  return rows;
}

/** Tenants holding active consents whose window closed at or before `now` (runs outside RLS). */
export async function tenantsWithDueConsents(q: Queryable, now: Date): Promise<string[]> {
  const { rows } = await q.query<{ tenant_id: string }>(
    `SELECT DISTINCT tenant_id FROM consents
      WHERE status = 'active' AND active_until IS NOT NULL AND active_until <= $1`,
    [now],
  );
  return rows.map((r) => r.tenant_id);
}

/** Locks a batch of a tenant's due consents; rows another worker holds are skipped. */
export async function lockDueConsents(
  q: Queryable,
  tenantId: string,
  now: Date,
  limit: number,
): Promise<ConsentRow[]> {
  const { rows } = await q.query<ConsentRow>(
    `SELECT * FROM consents
      WHERE tenant_id = $1 AND status = 'active' AND active_until IS NOT NULL AND active_until <= $2
      ORDER BY active_until, id LIMIT $3 FOR UPDATE SKIP LOCKED`,
    [tenantId, now, limit],
  );
  return rows;
}

/** Persons whose consents reference an attachment as evidence or verification document. */
export async function personsReferencingAttachment(
  q: Queryable,
  tenantId: string,
  attachmentId: string,
): Promise<string[]> {
  const { rows } = await q.query<{ person_id: string }>(
    `SELECT DISTINCT person_id FROM consents
      WHERE tenant_id = $1 AND ($2::uuid = ANY(evidence_attachment_ids) OR verification_document_attachment_id = $2::uuid)`,
    [tenantId, attachmentId],
  );
  return rows.map((r) => r.person_id);
}

export interface AttachmentRow {
  id: string;
  sha256: string;
  size: number;
  content_type: string;
  filename: string | null;
  created_at: Date;
}

export async function insertAttachment(
  q: Queryable,
  a: {
    tenantId: string;
    id: string;
    contentType: string;
    filename: string | null;
    sha256: string;
    content: Buffer;
    createdBy: string;
  },
): Promise<AttachmentRow> {
  const { rows } = await q.query<AttachmentRow>(
    `INSERT INTO attachments (tenant_id, id, content_type, filename, size, sha256, content, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id, sha256, size, content_type, filename, created_at`,
    [a.tenantId, a.id, a.contentType, a.filename, a.content.length, a.sha256, a.content, a.createdBy],
  );
  return rows[0];
}

export async function findAttachment(
  q: Queryable,
  tenantId: string,
  id: string,
): Promise<(AttachmentRow & { content: Buffer }) | null> {
  const { rows } = await q.query<AttachmentRow & { content: Buffer }>(
    'SELECT id, sha256, size, content_type, filename, created_at, content FROM attachments WHERE tenant_id = $1 AND id = $2',
    [tenantId, id],
  );
  return rows[0] ?? null;
}

/** Who recorded a consent's capture (its first version): the identity separation of duties compares. */
export async function capturedBy(q: Queryable, tenantId: string, consentId: string): Promise<string | null> {
  const { rows } = await q.query<{ changed_by: string | null }>(
    'SELECT changed_by FROM consent_versions WHERE tenant_id = $1 AND consent_id = $2 AND version_id = 1',
    [tenantId, consentId],
  );
  return rows[0]?.changed_by ?? null;
}
