import type { Queryable } from '../db/database.js';
import { NIL_UUID } from '../lib/ids.js';
import { PERSON_SELECT, type PersonRow } from '../registry/person-repo.js';

/**
 * Who a pull may return, as SQL: active (not archived) persons of the tenant that hold an active
 * consent (status active, now inside its window; grace periods do not count for exports) in
 * every vertical the contract requires, and in at least one vertical the caller may see. The
 * access decision is applied again to every row before it leaves (person-access.ts): this
 * filter only keeps pages full and the scan cheap.
 */
export interface Eligibility {
  tenantId: string;
  requiredVerticalIds: readonly string[];
  /** Verticals one of which must hold an active consent; null: any vertical. */
  anyVerticalIds: readonly string[] | null;
  updatedSince: string | null;
  verificationStatus: string | null;
  geoId: string | null;
}

const ACTIVE_CONSENT = `c.tenant_id = p.tenant_id AND c.person_id = p.id AND c.status = 'active'
  AND c.active_from <= now() AND (c.active_until IS NULL OR c.active_until > now())`;

/**
 * The WHERE clause for persons `p`; parameters $1…$6 are those of eligibilityParams. The consent
 * subqueries carry `OFFSET 0` so the planner keeps them as per-row probes of consents_person
 * instead of joining or hashing the tenant's whole consents table for every chunk: a page then
 * costs what it returns, not what precedes it.
 */
const ELIGIBLE = `p.tenant_id = $1 AND p.status = 'active'
  AND ($4::timestamptz IS NULL OR p.updated_at >= $4)
  AND ($5::text IS NULL OR p.verification_status = $5)
  AND ($6::uuid IS NULL OR COALESCE(p.geo_id,
        (SELECT h.geo_id FROM households h WHERE h.tenant_id = p.tenant_id AND h.id = p.household_id))
      IN (SELECT g.id FROM geo_areas g WHERE g.tenant_id = $1 AND g.path @> ARRAY[$6::uuid]))
  AND NOT EXISTS (SELECT 1 FROM unnest($2::uuid[]) AS r(vertical_id)
                   WHERE NOT EXISTS (SELECT 1 FROM consents c WHERE ${ACTIVE_CONSENT} AND c.vertical_id = r.vertical_id
                                     OFFSET 0))
  AND EXISTS (SELECT 1 FROM consents c WHERE ${ACTIVE_CONSENT} AND ($3::uuid[] IS NULL OR c.vertical_id = ANY ($3::uuid[]))
              OFFSET 0)`;

function eligibilityParams(e: Eligibility): unknown[] {
  return [e.tenantId, e.requiredVerticalIds, e.anyVerticalIds, e.updatedSince, e.verificationStatus, e.geoId];
}

/**
 * The last person id of the page that starts after `afterId` and holds `limit` persons, and
 * whether more follow. Read before the page streams, so its cursor can go in a header.
 */
export async function pageEnd(
  q: Queryable,
  e: Eligibility,
  afterId: string | null,
  limit: number,
): Promise<{ lastId: string | null; more: boolean }> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT p.id FROM persons p WHERE ${ELIGIBLE} AND p.id > $7 ORDER BY p.id OFFSET $8 LIMIT 2`,
    [...eligibilityParams(e), afterId ?? NIL_UUID, limit - 1],
  );
  if (rows.length === 0) return { lastId: null, more: false };
  return { lastId: rows[0].id, more: rows.length === 2 };
}

/** The next chunk of eligible persons after `afterId`, up to `untilId` when set, in id order. */
export async function eligibleChunk(
  q: Queryable,
  e: Eligibility,
  afterId: string | null,
  untilId: string | null,
  size: number,
): Promise<PersonRow[]> {
  const { rows } = await q.query<PersonRow>(
    `${PERSON_SELECT} WHERE ${ELIGIBLE} AND p.id > $7 AND ($8::uuid IS NULL OR p.id <= $8)
      ORDER BY p.id LIMIT $9`,
    [...eligibilityParams(e), afterId ?? NIL_UUID, untilId, size],
  );
  return rows;
}

/** An open household membership of a pulled person, as a pull shows it. */
export interface MembershipLink {
  membership_id: string;
  household_id: string;
  person_id: string;
  relationship_type: string;
  effective_from: string;
  effective_until: string | null;
  verification_status: string;
}

/** Open (not ended) household memberships of the given persons, oldest first. */
export async function openMembershipsOf(
  q: Queryable,
  tenantId: string,
  personIds: readonly string[],
): Promise<MembershipLink[]> {
  if (personIds.length === 0) return [];
  const { rows } = await q.query<MembershipLink>(
    `SELECT id AS membership_id, household_id, person_id, relationship_type, effective_from, effective_until,
            verification_status
       FROM household_members
      WHERE tenant_id = $1 AND person_id = ANY ($2::uuid[]) AND ended_at IS NULL
      ORDER BY person_id, created_at, id`,
    [tenantId, personIds],
  );
  return rows;
}

/** An active family relationship, as stored: person_id is the <relationship_type> of related_person_id. */
export interface RelationshipLink {
  relationship_id: string;
  person_id: string;
  related_person_id: string;
  relationship_type: string;
  effective_from: string;
  effective_until: string | null;
  verification_status: string;
}

/** Active relationships in which any of the given persons takes part, on either side. */
export async function activeRelationshipsOf(
  q: Queryable,
  tenantId: string,
  personIds: readonly string[],
): Promise<RelationshipLink[]> {
  if (personIds.length === 0) return [];
  const { rows } = await q.query<RelationshipLink>(
    `SELECT id AS relationship_id, person_id, related_person_id, relationship_type, effective_from,
            effective_until, verification_status
       FROM relationships
      WHERE tenant_id = $1 AND status = 'active'
        AND (person_id = ANY ($2::uuid[]) OR related_person_id = ANY ($2::uuid[]))
      ORDER BY id`,
    [tenantId, personIds],
  );
  return rows;
}

/** Does the person hold an active consent in every listed vertical? */
export async function meetsConsentRequirements(
  q: Queryable,
  tenantId: string,
  personId: string,
  verticalIds: readonly string[],
): Promise<boolean> {
  if (verticalIds.length === 0) return true;
  const { rows } = await q.query<{ ok: boolean }>(
    `SELECT NOT EXISTS (SELECT 1 FROM unnest($3::uuid[]) AS r(vertical_id)
        WHERE NOT EXISTS (SELECT 1 FROM consents c
                           WHERE c.tenant_id = $1 AND c.person_id = $2 AND c.vertical_id = r.vertical_id
                             AND c.status = 'active' AND c.active_from <= now()
                             AND (c.active_until IS NULL OR c.active_until > now()))) AS ok`,
    [tenantId, personId, verticalIds],
  );
  return rows[0]?.ok === true;
}

/** Of `personIds`, the active persons that hold an active consent in every one of `verticalIds`. */
export async function activeMeetingRequirements(
  q: Queryable,
  tenantId: string,
  personIds: readonly string[],
  verticalIds: readonly string[],
): Promise<Set<string>> {
  if (personIds.length === 0) return new Set();
  const { rows } = await q.query<{ id: string }>(
    `SELECT p.id FROM persons p
      WHERE p.tenant_id = $1 AND p.id = ANY($2::uuid[]) AND p.status = 'active'
        AND NOT EXISTS (SELECT 1 FROM unnest($3::uuid[]) AS r(vertical_id)
              WHERE NOT EXISTS (SELECT 1 FROM consents c
                                 WHERE ${ACTIVE_CONSENT} AND c.vertical_id = r.vertical_id))`,
    [tenantId, personIds, verticalIds],
  );
  return new Set(rows.map((r) => r.id));
}

export interface IdentityMatch {
  person_id: string;
  person_archived: boolean;
}

/** Persons holding a current identity of this type and key (archived holders included). */
export async function matchIdentity(
  q: Queryable,
  tenantId: string,
  identityType: string,
  identityKey: string,
): Promise<IdentityMatch[]> {
  const { rows } = await q.query<IdentityMatch>(
    `SELECT DISTINCT person_id, person_archived FROM person_identities
      WHERE tenant_id = $1 AND identity_type = $2 AND identity_key = $3 AND removed_at IS NULL
        AND status <> 'invalid'
      ORDER BY person_archived, person_id`,
    [tenantId, identityType, identityKey],
  );
  return rows;
}
