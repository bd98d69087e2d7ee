import type { Queryable } from '../db/database.js';

/**
 * Reads of the dashboard statistics: counters kept by triggers (migrations/0060) for the large
 * tables, index range counts for time-dependent figures, plain GROUP BY for the small tables.
 */

export interface PersonCountRow {
  facet: 'all' | 'gender' | 'birth_month' | 'registered_month';
  value: string | null;
  status: string;
  verification_status: string;
  n: number;
}

/**
 * The counters of the given facets, summed per cell. Birth months become age bands here (age in
 * completed years today, UTC, of someone born on the first of that month): a few rows leave the
 * database instead of one per month of birth.
 */
export async function personCounts(
  q: Queryable,
  tenantId: string,
  facets: readonly PersonCountRow['facet'][],
): Promise<PersonCountRow[]> {
  const { rows } = await q.query<PersonCountRow>(
    `SELECT facet, value, status, verification_status, sum(n)::int AS n FROM (
       SELECT facet, status, verification_status, n,
              CASE WHEN facet <> 'birth_month' THEN value
                   WHEN value IS NULL THEN 'unknown'
                   ELSE (SELECT CASE WHEN a < 0 THEN 'unknown' WHEN a < 5 THEN '0-4' WHEN a < 18 THEN '5-17'
                                     WHEN a < 60 THEN '18-59' ELSE '60+' END
                           FROM extract(year FROM age((now() AT TIME ZONE 'UTC')::date,
                                                      to_date(value || '-01', 'YYYY-MM-DD'))) AS a)
              END AS value
         FROM person_counts WHERE tenant_id = $1 AND facet = ANY($2::text[]) AND n <> 0) c
      GROUP BY 1, 2, 3, 4 HAVING sum(n) <> 0`,
    [tenantId, facets],
  );
  return rows;
}

export async function householdCounts(q: Queryable, tenantId: string) {
  const { rows } = await q.query<{ status: string; n: number }>(
    `SELECT status, n::int AS n FROM household_counts WHERE tenant_id = $1 AND n <> 0 ORDER BY status`,
    [tenantId],
  );
  return rows;
}

/** verticals null: every vertical of the tenant. */
export async function consentCounts(q: Queryable, tenantId: string, verticals: readonly string[] | null) {
  const { rows } = await q.query<{ vertical_id: string; vertical_code: string; status: string; n: number }>(
    `SELECT c.vertical_id, v.code AS vertical_code, c.status, c.n::int AS n
       FROM consent_counts c JOIN verticals v ON v.tenant_id = c.tenant_id AND v.id = c.vertical_id
      WHERE c.tenant_id = $1 AND c.n <> 0 AND ($2::uuid[] IS NULL OR c.vertical_id = ANY($2::uuid[]))
      ORDER BY v.code, c.status`,
    [tenantId, verticals],
  );
  return rows;
}

/**
 * Active consents ending within the window, and consents in their grace period, right now. Whole
 * UTC days come from the per-day counters; the partial days at the ends of the window (the rest
 * of today, the start of its last day) and active consents past their window that the expiry
 * sweep has not reached yet are counted from the consents, a day's worth at most.
 */
export async function consentDeadlines(
  q: Queryable,
  tenantId: string,
  verticals: readonly string[] | null,
  days: number,
) {
  // Bounds are inline expressions, never a joined CTE, and each range its own count: under
  // row-level security an OR of ranges or bounds from a join kept the planner off the partial
  // indexes (a sequential scan of every consent, 190 ms on 500,000).
  const today = `(now() AT TIME ZONE 'UTC')::date`;
  const endDay = `((now() + make_interval(days => $3)) AT TIME ZONE 'UTC')::date`;
  const tomorrowStart = `((${today} + 1)::timestamp AT TIME ZONE 'UTC')`;
  const endDayStart = `(${endDay}::timestamp AT TIME ZONE 'UTC')`;
  const vertical = `($2::uuid[] IS NULL OR vertical_id = ANY($2::uuid[]))`;
  const { rows } = await q.query<{ expiring: number; grace: number }>(
    `SELECT
       (SELECT coalesce(sum(n), 0)::int FROM consent_deadline_counts
         WHERE tenant_id = $1 AND kind = 'active_until' AND day > ${today} AND day < ${endDay} AND ${vertical})
       + (SELECT count(*)::int FROM consents
           WHERE tenant_id = $1 AND status = 'active' AND active_until > now() AND active_until < ${tomorrowStart}
             AND ${vertical})
       + (SELECT count(*)::int FROM consents
           WHERE tenant_id = $1 AND status = 'active' AND active_until >= ${endDayStart}
             AND active_until <= now() + make_interval(days => $3) AND ${vertical}) AS expiring,
       (SELECT coalesce(sum(n), 0)::int FROM consent_deadline_counts
         WHERE tenant_id = $1 AND kind = 'expired_grace' AND day > ${today} AND ${vertical})
       + (SELECT count(*)::int FROM consents
           WHERE tenant_id = $1 AND status = 'expired' AND grace_until > now() AND grace_until < ${tomorrowStart}
             AND ${vertical})
       + (SELECT count(*)::int FROM consents
           WHERE tenant_id = $1 AND status = 'active' AND active_until <= now() AND grace_until > now()
             AND ${vertical}) AS grace`,
    [tenantId, verticals, days],
  );
  return rows[0] ?? { expiring: 0, grace: 0 };
}

export async function importRuns(q: Queryable, tenantId: string, days: number) {
  const { rows } = await q.query<{
    status: string;
    day: string;
    runs: number;
    rows_read: number;
    rows_created: number;
    rows_updated: number;
    rows_rejected: number;
  }>(
    `SELECT status, to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, count(*)::int AS runs,
            sum(rows_read)::int AS rows_read, sum(rows_created)::int AS rows_created,
            sum(rows_updated)::int AS rows_updated, sum(rows_rejected)::int AS rows_rejected
       FROM person_imports
      WHERE tenant_id = $1 AND created_at > now() - make_interval(days => $2)
      GROUP BY 1, 2 ORDER BY 2, 1`,
    [tenantId, days],
  );
  return rows;
}

export async function integrationCounts(q: Queryable, tenantId: string) {
  const { rows } = await q.query<{ status: string; n: number }>(
    `SELECT status, count(*)::int AS n FROM integrations WHERE tenant_id = $1 GROUP BY status ORDER BY status`,
    [tenantId],
  );
  return rows;
}
