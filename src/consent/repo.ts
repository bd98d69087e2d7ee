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
