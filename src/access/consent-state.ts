import type { Queryable } from '../db/database.js';

/** What the consents of one person say for one caller right now. */
export type ConsentState = 'active' | 'grace' | 'pending' | 'expired' | 'withdrawn' | 'rejected' | 'none';

const RANK: ConsentState[] = ['active', 'grace', 'pending', 'expired', 'withdrawn', 'rejected', 'none'];

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
    `SELECT person_id,
            CASE
              WHEN status = 'active' AND active_from <= now() AND (active_until IS NULL OR active_until > now()) THEN 'active'
              WHEN status = 'active' AND active_until IS NOT NULL AND active_until <= now()
                   AND grace_until IS NOT NULL AND grace_until > now() THEN 'grace'
              WHEN status = 'expired' AND grace_until IS NOT NULL AND grace_until > now() THEN 'grace'
              WHEN status = 'active' AND active_from > now() THEN 'pending'
              WHEN status = 'active' THEN 'expired'
              ELSE status
            END AS state
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
