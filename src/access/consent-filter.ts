import { classificationOf } from './classification.js';
import { mayEverSee } from './person-access.js';
import type { Reader } from './reader.js';

type Add = (value: unknown) => string;

/**
 * The access decision of person-access.ts as a SQL condition, for searches that count and page
 * in the database (offset paging with an exact total): a row passes when `decide()` would make
 * it visible to the reader and let it match on every field the search used. Hidden rows are then
 * never fetched, never counted and never skipped silently. The rows of a page still go through
 * `decideMany` and the projection afterwards, so this is a pre-filter, never a replacement.
 *
 * `add` appends a parameter and returns its placeholder; `personExpr` is the person id column.
 */
export function visibleSql(
  reader: Reader,
  add: Add,
  tenantExpr: string,
  personExpr: string,
  matched: readonly string[],
): string {
  if (reader.kind === 'root') return 'true';
  if (reader.kind === 'third_party') {
    if (!matched.every((f) => mayEverSee(reader, f))) return 'false';
    return consentAllowsSql(add, tenantExpr, personExpr, reader.verticals);
  }
  const classes = new Set(matched.map((f) => classificationOf(f, reader.overrides)));
  classes.delete('basic');
  if (classes.size === 0) return 'true';
  const at = [...classes].map((c) => reader.staff[c as 'personal' | 'sensitive']);
  if (at.includes('never')) return 'false';
  const underConsent = consentAllowsSql(add, tenantExpr, personExpr, reader.verticals);
  if (at.includes('consent')) return underConsent;
  return `(${underConsent} OR ${registrationSql(add, tenantExpr, personExpr, reader.verticals)})`;
}

/** The SQL of "consent active now" (status active and now inside the window). */
export function activeConsentSql(c: string): string {
  return `(${c}.status = 'active' AND ${c}.active_from <= now() AND (${c}.active_until IS NULL OR ${c}.active_until > now()))`;
}

/** The SQL of "in grace now": the window ended, the grace period did not. */
function graceSql(c: string): string {
  return `((${c}.status = 'active' AND ${c}.active_until IS NOT NULL AND ${c}.active_until <= now()
             AND ${c}.grace_until IS NOT NULL AND ${c}.grace_until > now())
         OR (${c}.status = 'expired' AND ${c}.grace_until IS NOT NULL AND ${c}.grace_until > now()))`;
}

/**
 * True when the person has a consent among the verticals (NULL: any vertical) that is active now
 * or in its grace period: the states `consentStates()` computes and reads and searches accept.
 */
export function consentAllowsSql(
  add: Add,
  tenantExpr: string,
  personExpr: string,
  verticals: readonly string[] | null,
): string {
  const v = add(verticals ? [...verticals] : null);
  return `EXISTS (SELECT 1 FROM consents c
     WHERE c.tenant_id = ${tenantExpr} AND c.person_id = ${personExpr}
       AND (${v}::uuid[] IS NULL OR c.vertical_id = ANY(${v}::uuid[]))
       AND (${activeConsentSql('c')} OR ${graceSql('c')}))`;
}

/**
 * The registration stage unless a consent is active or in grace (callers OR it with
 * consentAllowsSql): no consent among the verticals at all, or one still pending (status pending,
 * or active with a window that has not started) — the best state `consentStates()` ranks.
 */
export function registrationSql(
  add: Add,
  tenantExpr: string,
  personExpr: string,
  verticals: readonly string[] | null,
): string {
  const v = add(verticals ? [...verticals] : null);
  const mine = `c.tenant_id = ${tenantExpr} AND c.person_id = ${personExpr}
       AND (${v}::uuid[] IS NULL OR c.vertical_id = ANY(${v}::uuid[]))`;
  return `(NOT EXISTS (SELECT 1 FROM consents c WHERE ${mine})
     OR EXISTS (SELECT 1 FROM consents c WHERE ${mine}
       AND (c.status = 'pending' OR (c.status = 'active' AND c.active_from > now()))))`;
}
