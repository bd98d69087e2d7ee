import type { Queryable } from '../db/database.js';
import type { Address } from './person-schemas.js';

export interface HouseholdRow {
  tenant_id: string;
  id: string;
  household_name: string;
  leader_id: string;
  geo_id: string | null;
  address: Address | null;
  status: 'provisional' | 'verified' | 'archived';
  status_before_archive: string | null;
  geo_lat: number | null;
  geo_lon: number | null;
  geo_accuracy: number | null;
  geo_captured_at: Date | null;
  group_kind: string;
  extensions: Record<string, unknown>;
  archived_at: Date | null;
  version_id: number;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
  source_system: string | null;
  collection_method: string;
  updated_by: string | null;
  last_update_system: string | null;
  member_count: number;
}

export const HOUSEHOLD_SELECT = `
  SELECT h.*, (SELECT count(*) FROM household_members m
                WHERE m.tenant_id = h.tenant_id AND m.household_id = h.id AND m.ended_at IS NULL) AS member_count
    FROM households h`;

export async function findHouseholds(
  q: Queryable,
  tenantId: string,
  ids: readonly string[],
  lock = false,
): Promise<HouseholdRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<HouseholdRow>(
    `${HOUSEHOLD_SELECT} WHERE h.tenant_id = $1 AND h.id = ANY($2::uuid[])${lock ? ' FOR UPDATE OF h' : ''}`,
    [tenantId, ids],
  );
  const order = new Map(ids.map((id, i) => [id, i]));
  return rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

export async function findHousehold(
  q: Queryable,
  tenantId: string,
  id: string,
  lock = false,
): Promise<HouseholdRow | null> {
  return (await findHouseholds(q, tenantId, [id], lock))[0] ?? null;
}

export interface MembershipRow {
  id: string;
  household_id: string;
  person_id: string;
  relationship_type: string;
  effective_from: string;
  effective_until: string | null;
  verification_status: string;
  ended_at: Date | null;
  end_reason_code: string | null;
  end_reason_text: string | null;
  version_id: number;
  created_at: Date;
  updated_at: Date;
}

const MEMBERSHIP_COLUMNS = `id, household_id, person_id, relationship_type, effective_from, effective_until,
  verification_status, ended_at, end_reason_code, end_reason_text, version_id, created_at, updated_at`;

export async function insertMembership(
  q: Queryable,
  m: {
    tenantId: string;
    id: string;
    householdId: string;
    personId: string;
    relationshipType: string;
    effectiveFrom: string;
    effectiveUntil: string | null;
    verificationStatus: string;
    createdBy: string;
  },
): Promise<MembershipRow> {
  const { rows } = await q.query<MembershipRow>(
    `INSERT INTO household_members (tenant_id, id, household_id, person_id, relationship_type, effective_from,
       effective_until, verification_status, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${MEMBERSHIP_COLUMNS}`,
    [
      m.tenantId,
      m.id,
      m.householdId,
      m.personId,
      m.relationshipType,
      m.effectiveFrom,
      m.effectiveUntil,
      m.verificationStatus,
      m.createdBy,
    ],
  );
  return rows[0];
}

export async function findOpenMembership(
  q: Queryable,
  tenantId: string,
  householdId: string,
  personId: string,
): Promise<MembershipRow | null> {
  const { rows } = await q.query<MembershipRow>(
    `SELECT ${MEMBERSHIP_COLUMNS} FROM household_members
      WHERE tenant_id = $1 AND household_id = $2 AND person_id = $3 AND ended_at IS NULL FOR UPDATE`,
    [tenantId, householdId, personId],
  );
  return rows[0] ?? null;
}

export async function endMembership(
  q: Queryable,
  tenantId: string,
  id: string,
  until: string,
  reasonCode: string,
  reasonText: string | null,
): Promise<MembershipRow> {
  const { rows } = await q.query<MembershipRow>(
    `UPDATE household_members SET effective_until = $3, ended_at = now(), end_reason_code = $4, end_reason_text = $5,
            version_id = version_id + 1, updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING ${MEMBERSHIP_COLUMNS}`,
    [tenantId, id, until, reasonCode, reasonText],
  );
  return rows[0];
}

export async function listMemberships(
  q: Queryable,
  tenantId: string,
  filter: { householdId?: string; personId?: string; includeEnded: boolean },
): Promise<MembershipRow[]> {
  const { rows } = await q.query<MembershipRow>(
    `SELECT ${MEMBERSHIP_COLUMNS} FROM household_members
      WHERE tenant_id = $1 AND ($2::uuid IS NULL OR household_id = $2) AND ($3::uuid IS NULL OR person_id = $3)
        AND ($4 OR ended_at IS NULL)
      ORDER BY id`,
    [tenantId, filter.householdId ?? null, filter.personId ?? null, filter.includeEnded],
  );
  return rows;
}

/** An open membership: who belongs to which household, in which role. */
export interface OpenMember {
  household_id: string;
  person_id: string;
  relationship_type: string;
}

/** Open memberships of the given households, oldest first per household. */
export async function openMembersOfHouseholds(
  q: Queryable,
  tenantId: string,
  householdIds: readonly string[],
): Promise<OpenMember[]> {
  if (householdIds.length === 0) return [];
  const { rows } = await q.query<OpenMember>(
    `SELECT household_id, person_id, relationship_type FROM household_members
      WHERE tenant_id = $1 AND household_id = ANY($2::uuid[]) AND ended_at IS NULL
      ORDER BY household_id, effective_from, id`,
    [tenantId, householdIds],
  );
  return rows;
}

/** Open memberships of the given persons, oldest first per person. */
export async function openMembershipsOfPersons(
  q: Queryable,
  tenantId: string,
  personIds: readonly string[],
): Promise<OpenMember[]> {
  if (personIds.length === 0) return [];
  const { rows } = await q.query<OpenMember>(
    `SELECT household_id, person_id, relationship_type FROM household_members
      WHERE tenant_id = $1 AND person_id = ANY($2::uuid[]) AND ended_at IS NULL
      ORDER BY person_id, effective_from, id`,
    [tenantId, personIds],
  );
  return rows;
}
