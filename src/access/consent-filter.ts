import type { Actor } from '../auth/principal.js';
import { type Classification, classificationOf } from './classification.js';
import type { Overrides } from './person-access.js';

/**
 * The access decision of person-access.ts as a SQL condition, for searches that count and page
 * in the database (offset paging with an exact total): a row passes when `decide()` would make
 * it visible to the actor and let it match on every field the search used. Hidden rows are then
 * never fetched, never counted and never skipped silently. The rows of a page still go through
 * `decideMany` and `personView` afterwards, so this is a pre-filter, never a replacement.
 *
 * `add` appends a parameter and returns its placeholder; `personExpr` is the person id column.
 */
export function visibleSql(
  actor: Actor,
  add: (value: unknown) => string,
  tenantExpr: string,
  personExpr: string,
  matched: readonly string[],
  overrides: Overrides,
): string {
  const p = actor.principal;
  if (p.isRoot) return 'true';
  const needsConsent = p.consentBound || matched.some((f) => fieldClass(f, overrides) !== 'basic');
  if (!needsConsent) return 'true';
  return consentAllowsSql(add, tenantExpr, personExpr, p.verticalIds.length > 0 ? [...p.verticalIds] : null);
}

function fieldClass(field: string, overrides: Overrides): Classification {
  return field === 'position' ? 'sensitive' : classificationOf(field, overrides);
}

/**
 * True when the person has a consent among the verticals (NULL: any vertical) that is active now
 * or in its grace period: the states `consentStates()` computes and reads and searches accept.
 */
export function consentAllowsSql(
  add: (value: unknown) => string,
  tenantExpr: string,
  personExpr: string,
  verticals: string[] | null,
): string {
  const v = add(verticals);
  return `EXISTS (SELECT 1 FROM consents c
     WHERE c.tenant_id = ${tenantExpr} AND c.person_id = ${personExpr}
       AND (${v}::uuid[] IS NULL OR c.vertical_id = ANY(${v}::uuid[]))
       AND ((c.status = 'active' AND c.active_from <= now() AND (c.active_until IS NULL OR c.active_until > now()))
         OR (c.status = 'active' AND c.active_until IS NOT NULL AND c.active_until <= now()
             AND c.grace_until IS NOT NULL AND c.grace_until > now())
         OR (c.status = 'expired' AND c.grace_until IS NOT NULL AND c.grace_until > now())))`;
}
