import type { Role } from '../auth/scopes.js';
import type { Classification } from './classification.js';

/**
 * When a staff role sees a classification of fields:
 * - `registration`: from the registration stage on (no consent of the reader's verticals decided
 *   yet) and while a consent is active or in grace;
 * - `consent`: only while a consent of the reader's verticals is active (or in grace);
 * - `never`: not at all (masked).
 * Basic fields are always shown; once every consent of the reader's verticals was withdrawn,
 * rejected or expired past grace, only basic fields are (docs/decisions/0012-access-policy.md).
 */
export type Stage = 'registration' | 'consent' | 'never';

export const STAFF_ROLES = ['tenant_admin', 'registrar', 'reviewer', 'auditor', 'approver'] as const;
export type StaffRole = (typeof STAFF_ROLES)[number];

export type RoleAccessRow = Record<Exclude<Classification, 'basic'>, Stage>;
export type RoleAccess = Record<StaffRole, RoleAccessRow>;
/** A tenant's overrides: any role, any of its classifications. */
export type RoleAccessOverrides = Partial<Record<StaffRole, Partial<RoleAccessRow>>> | undefined;

/**
 * Those who register, verify and deduplicate records see what that work needs (identities,
 * contacts, date of birth, gender) while a person is being registered; an auditor checks the
 * work from the basic fields and sees personal fields under consent.
 */
export const DEFAULT_ROLE_ACCESS: RoleAccess = {
  tenant_admin: { personal: 'registration', sensitive: 'registration' },
  registrar: { personal: 'registration', sensitive: 'registration' },
  reviewer: { personal: 'registration', sensitive: 'registration' },
  auditor: { personal: 'consent', sensitive: 'never' },
  approver: { personal: 'never', sensitive: 'never' },
};

const RANK: Record<Stage, number> = { never: 0, consent: 1, registration: 2 };

export function roleAccessTable(overrides: RoleAccessOverrides): RoleAccess {
  const out = {} as RoleAccess;
  for (const role of STAFF_ROLES) out[role] = { ...DEFAULT_ROLE_ACCESS[role], ...overrides?.[role] };
  return out;
}

/**
 * What a principal holding these roles sees of each classification: the widest of its roles.
 * `sensitive:read` (a scope only staff can hold by grant) lets it see sensitive fields whenever
 * it sees personal ones.
 */
export function staffAccess(
  roles: readonly Role[],
  sensitiveScope: boolean,
  overrides: RoleAccessOverrides,
): RoleAccessRow {
  const table = roleAccessTable(overrides);
  const row: RoleAccessRow = { personal: 'never', sensitive: 'never' };
  for (const role of roles) {
    const r = table[role as StaffRole];
    if (!r) continue;
    if (RANK[r.personal] > RANK[row.personal]) row.personal = r.personal;
    if (RANK[r.sensitive] > RANK[row.sensitive]) row.sensitive = r.sensitive;
  }
  if (sensitiveScope && RANK[row.personal] > RANK[row.sensitive]) row.sensitive = row.personal;
  return row;
}
