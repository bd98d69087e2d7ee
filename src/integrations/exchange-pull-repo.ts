import { consentRankSql } from '../access/consent-state.js';
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

/** "Active now" of one consent row `c` (its person is already fixed by the lateral join below). */
const ACTIVE_NOW = `(c.status = 'active' AND c.active_from <= now() AND (c.active_until IS NULL OR c.active_until > now()))`;

/**
 * Persons `p` joined to what their consents say, in one pass over each person's consents (one
 * probe of consents_person per person, not one per condition): `k.required_met` counts the
 * required verticals ($2) holding an active consent, `k.any_met` says whether one of $3 (NULL:
 * any) does, and with `stateOf` given (the placeholder of the reader's verticals) `k.state_rank`
 * is the person's consent state among them (consent-state.ts), the input of the access decision.
 * The lateral subquery is evaluated per person row, so a page costs what it returns, not what
 * precedes it, and there is no separate consent query per chunk.
 */
function consentedFrom(stateOf: string | null): string {
  const state = stateOf
    ? `, min(${consentRankSql('c')}) FILTER (WHERE ${stateOf}::uuid[] IS NULL OR c.vertical_id = ANY (${stateOf}::uuid[])) AS state_rank`
    : '';
  return `persons p CROSS JOIN LATERAL (
      SELECT count(DISTINCT c.vertical_id) FILTER (WHERE ${ACTIVE_NOW} AND c.vertical_id = ANY ($2::uuid[])) AS required_met,
             coalesce(bool_or(${ACTIVE_NOW} AND ($3::uuid[] IS NULL OR c.vertical_id = ANY ($3::uuid[]))), false) AS any_met
             ${state}
        FROM consents c WHERE c.tenant_id = p.tenant_id AND c.person_id = p.id) k`;
}

/** The WHERE clause for persons `p` joined by consentedFrom; parameters $1…$6 are those of eligibilityParams. */
const ELIGIBLE = `p.tenant_id = $1 AND p.status = 'active'
  AND ($4::timestamptz IS NULL OR p.updated_at >= $4)
  AND ($5::text IS NULL OR p.verification_status = $5)
  AND ($6::uuid IS NULL OR COALESCE(p.geo_id,
        (SELECT h.geo_id FROM households h WHERE h.tenant_id = p.tenant_id AND h.id = p.household_id))
      IN (SELECT g.id FROM geo_areas g WHERE g.tenant_id = $1 AND g.path @> ARRAY[$6::uuid]))
  AND k.required_met = cardinality($2::uuid[]) AND k.any_met`;

function eligibilityParams(e: Eligibility): unknown[] {
  // Distinct: the count of required verticals met is compared with the list's length.
  return [
    e.tenantId,
    [...new Set(e.requiredVerticalIds)],
    e.anyVerticalIds,
    e.updatedSince,
    e.verificationStatus,
    e.geoId,
  ];
}

/**
 * Where the page that starts after `afterId` and holds `limit` persons ends (its last id, and
 * whether more follow), and the id ending every `every`-th person of it: the page's chunks,
 * known before the page streams (its cursor goes in a header, and its chunks can be read side
 * by side). One pass over the page's persons; at most limit / every + 2 rows come back.
 */
export async function pagePlan(
  q: Queryable,
  e: Eligibility,
  afterId: string | null,
  limit: number,
  every: number,
): Promise<{ lastId: string | null; more: boolean; bounds: string[] }> {
  const { rows } = await q.query<{ id: string; rn: string }>(
    `SELECT id, rn FROM (
       SELECT p.id, row_number() OVER (ORDER BY p.id) AS rn
         FROM ${consentedFrom(null)} WHERE ${ELIGIBLE} AND p.id > $7 ORDER BY p.id LIMIT $8::int + 1) x
      WHERE rn % $9 = 0 OR rn >= $8 ORDER BY rn`,
    [...eligibilityParams(e), afterId ?? NIL_UUID, limit, every],
  );
  const last = rows.find((r) => Number(r.rn) === limit);
  const more = rows.some((r) => Number(r.rn) === limit + 1);
  const bounds = rows.filter((r) => Number(r.rn) <= limit).map((r) => r.id);
  return { lastId: last?.id ?? null, more, bounds };
}

/** An eligible person with the rank of its consent state among the reader's verticals (stateOfRank). */
export type EligibleRow = PersonRow & { state_rank: number | null };

/** PERSON_SELECT's select list (this query joins persons to their consents itself). */
const PERSON_COLUMNS = PERSON_SELECT.slice(0, PERSON_SELECT.lastIndexOf('FROM persons p'));

/**
 * The next chunk of eligible persons after `afterId`, up to `untilId` when set, in id order,
 * each with the rank of its consent state among `readerVerticals` (null: any vertical).
 */
export async function eligibleChunk(
  q: Queryable,
  e: Eligibility,
  afterId: string | null,
  untilId: string | null,
  size: number,
  readerVerticals: readonly string[] | null,
): Promise<EligibleRow[]> {
  const { rows } = await q.query<EligibleRow>(
    `${PERSON_COLUMNS}, k.state_rank
       FROM ${consentedFrom('$10')}
      WHERE ${ELIGIBLE} AND p.id > $7 AND ($8::uuid IS NULL OR p.id <= $8)
      ORDER BY p.id LIMIT $9`,
    [...eligibilityParams(e), afterId ?? NIL_UUID, untilId, size, readerVerticals],
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
