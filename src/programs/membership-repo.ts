import { consentAllowsSql } from '../access/consent-filter.js';
import type { Queryable } from '../db/database.js';
import type { ProgramScope } from './program-repo.js';
import type { MembershipStatus } from './schemas.js';

export interface MembershipRow {
  id: string;
  program_id: string;
  person_id: string | null;
  household_id: string | null;
  status: MembershipStatus;
  enrollment_date: string | null;
  exit_date: string | null;
  exit_reason: string | null;
  status_reason_code: string | null;
  status_reason_text: string | null;
  version_id: number;
  created_at: Date;
  updated_at: Date;
}

const COLUMNS = `m.id, m.program_id, m.person_id, m.household_id, m.status, m.enrollment_date, m.exit_date,
  m.exit_reason, m.status_reason_code, m.status_reason_text, m.version_id, m.created_at, m.updated_at`;

export async function insertMembership(
  q: Queryable,
  m: {
    tenantId: string;
    id: string;
    programId: string;
    personId: string | null;
    householdId: string | null;
    status: MembershipStatus;
    enrollmentDate: string | null;
    createdBy: string;
    sourceSystem: string | null;
  },
): Promise<void> {
  await q.query(
    `INSERT INTO program_memberships (tenant_id, id, program_id, person_id, household_id, status, enrollment_date,
       created_by, source_system)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      m.tenantId,
      m.id,
      m.programId,
      m.personId,
      m.householdId,
      m.status,
      m.enrollmentDate,
      m.createdBy,
      m.sourceSystem,
    ],
  );
}

export async function findMembership(
  q: Queryable,
  tenantId: string,
  id: string,
  lock = false,
): Promise<MembershipRow | null> {
  const { rows } = await q.query<MembershipRow>(
    `SELECT ${COLUMNS} FROM program_memberships m WHERE m.tenant_id = $1 AND m.id = $2${lock ? ' FOR UPDATE' : ''}`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}

export async function updateMembership(
  q: Queryable,
  tenantId: string,
  id: string,
  change: {
    status: MembershipStatus;
    enrollmentDate: string | null;
    exitDate: string | null;
    exitReason: string | null;
    reasonCode: string | null;
    reasonText: string | null;
  },
  meta: { updatedBy: string; lastUpdateSystem: string | null },
): Promise<MembershipRow> {
  const { rows } = await q.query<MembershipRow>(
    `UPDATE program_memberships m SET status = $3, enrollment_date = $4, exit_date = $5, exit_reason = $6,
            status_reason_code = $7, status_reason_text = $8, version_id = version_id + 1, updated_at = now(),
            updated_by = $9, last_update_system = $10
      WHERE m.tenant_id = $1 AND m.id = $2 RETURNING ${COLUMNS}`,
    [
      tenantId,
      id,
      change.status,
      change.enrollmentDate,
      change.exitDate,
      change.exitReason,
      change.reasonCode,
      change.reasonText,
      meta.updatedBy,
      meta.lastUpdateSystem,
    ],
  );
  return rows[0];
}

export interface MembershipFilter {
  membershipId?: string;
  programId?: string;
  /** A person or household id. */
  beneficiary?: string;
  status?: MembershipStatus;
  /** Only draft, enrolled and paused memberships. */
  liveOnly?: boolean;
}

/**
 * For consent-bound callers: only memberships whose beneficiary (the person, or the leader of
 * the household) has a consent among these verticals (null: any vertical).
 */
export type ConsentFilter = { verticals: string[] | null } | null;

function whereOf(
  params: unknown[],
  tenantId: string,
  f: MembershipFilter,
  scope: ProgramScope,
  consent: ConsentFilter,
): string {
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  const t = add(tenantId);
  const where = [
    `m.tenant_id = ${t}`,
    `m.program_id IN (SELECT g.id FROM programs g WHERE g.tenant_id = ${t}
        AND (${add(scope.allowedPrograms.length ? scope.allowedPrograms : null)}::uuid[] IS NULL OR g.id = ANY($${params.length}::uuid[]))
        AND (${add(scope.verticalIds.length ? scope.verticalIds : null)}::uuid[] IS NULL OR g.vertical_id = ANY($${params.length}::uuid[])))`,
  ];
  if (f.membershipId) where.push(`m.id = ${add(f.membershipId)}::uuid`);
  if (f.programId) where.push(`m.program_id = ${add(f.programId)}::uuid`);
  if (f.beneficiary) where.push(`COALESCE(m.person_id, m.household_id) = ${add(f.beneficiary)}::uuid`);
  if (f.status) where.push(`m.status = ${add(f.status)}`);
  if (f.liveOnly) where.push(`m.status IN ('draft', 'enrolled', 'paused')`);
  if (consent) {
    const who = `COALESCE(m.person_id, (SELECT h.leader_id FROM households h WHERE h.tenant_id = m.tenant_id AND h.id = m.household_id))`;
    where.push(consentAllowsSql(add, 'm.tenant_id', who, consent.verticals));
  }
  return where.join(' AND ');
}

/** Keyset page in id order (native API). */
export async function listMemberships(
  q: Queryable,
  tenantId: string,
  f: MembershipFilter,
  scope: ProgramScope,
  consent: ConsentFilter,
  after: string | null,
  limit: number,
): Promise<MembershipRow[]> {
  const params: unknown[] = [];
  const where = whereOf(params, tenantId, f, scope, consent);
  params.push(after, limit);
  const { rows } = await q.query<MembershipRow>(
    `SELECT ${COLUMNS} FROM program_memberships m
      WHERE ${where} AND ($${params.length - 1}::uuid IS NULL OR m.id > $${params.length - 1}::uuid)
      ORDER BY m.id LIMIT $${params.length}`,
    params,
  );
  return rows;
}

/** Offset page with the total (OpenSPP API V2 paging); hidden memberships are never counted. */
export async function pageMemberships(
  q: Queryable,
  tenantId: string,
  f: MembershipFilter,
  scope: ProgramScope,
  consent: ConsentFilter,
  offset: number,
  count: number,
): Promise<{ rows: MembershipRow[]; total: number }> {
  const params: unknown[] = [];
  const where = whereOf(params, tenantId, f, scope, consent);
  const total = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM program_memberships m WHERE ${where}`,
    params,
  );
  params.push(offset, count);
  const { rows } = await q.query<MembershipRow>(
    `SELECT ${COLUMNS} FROM program_memberships m WHERE ${where}
      ORDER BY m.id OFFSET $${params.length - 1} LIMIT $${params.length}`,
    params,
  );
  return { rows, total: total.rows[0].n };
}
