import type { Queryable } from '../db/database.js';

/** What the consents of one person say for one caller right now. */
export type ConsentState = 'active' | 'grace' | 'pending' | 'expired' | 'withdrawn' | 'rejected' | 'none';

/** Best first: a person's state among several consents is the best one. */
const RANK: ConsentState[] = ['active', 'grace', 'pending', 'expired', 'withdrawn', 'rejected', 'none'];

/**
 * The state one consent row (alias `c`) says now, as SQL. Active means status active and now
 * inside [active_from, active_until); grace means expired but now before grace_until.
 */
export function consentStateSql(c: string): string {
  return `CASE
              WHEN ${c}.status = 'active' AND ${c}.active_from <= now() AND (${c}.active_until IS NULL OR ${c}.active_until > now()) THEN 'active'
              WHEN ${c}.status = 'active' AND ${c}.active_until IS NOT NULL AND ${c}.active_until <= now()
                   AND ${c}.grace_until IS NOT NULL AND ${c}.grace_until > now() THEN 'grace'
              WHEN ${c}.status = 'expired' AND ${c}.grace_until IS NOT NULL AND ${c}.grace_until > now() THEN 'grace'
              WHEN ${c}.status = 'active' AND ${c}.active_from > now() THEN 'pending'
              WHEN ${c}.status = 'active' THEN 'expired'
              ELSE ${c}.status
            END`;
}

/**
 * The rank (0 = best) of one consent row's state, as SQL: `min()` of it over a person's consents
 * is the person's state, read back with stateOfRank. Lets a query that already reads a person's
 * consents (a pull's eligibility) carry the decision's input without a second query.
 */
export function consentRankSql(c: string): string {
  return `(array_position(ARRAY[${RANK.map((r) => `'${r}'`).join(', ')}]::text[], ${consentStateSql(c)}) - 1)`;
}

/** The state of a `min(consentRankSql)` (NULL: no consent among the verticals). */
export function stateOfRank(rank: number | null): ConsentState {
  return rank === null ? 'none' : (RANK[rank] ?? 'none');
}

/**
 * The best consent state of each person among the given verticals (null: any vertical of the
 * tenant). Active means status active and now inside [active_from, active_until); grace means
 * expired but now before grace_until. One query for a whole page of persons.
 */
export async function consentStates(
  q: Queryable,
  tenantId: string,
  personIds: readonly string[],
  verticalIds: readonly string[] | null,
): Promise<Map<string, ConsentState>> {
  const out = new Map<string, ConsentState>();
  if (personIds.length === 0) return out;
  const { rows } = await q.query<{ person_id: string; state: ConsentState }>(
    `SELECT person_id, ${consentStateSql('consents')} AS state
       FROM consents
      WHERE tenant_id = $1 AND person_id = ANY($2::uuid[]) AND ($3::uuid[] IS NULL OR vertical_id = ANY($3::uuid[]))`,
    [tenantId, personIds, verticalIds],
  );
  for (const r of rows) {
    const prev = out.get(r.person_id);
    if (!prev || RANK.indexOf(r.state) < RANK.indexOf(prev)) out.set(r.person_id, r.state);
  }
  return out;
}
