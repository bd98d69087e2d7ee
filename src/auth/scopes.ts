/** Every scope Hearth knows (`resource:action`). */
export const SCOPES = [
  'persons:read',
  'persons:write',
  'households:read',
  'households:write',
  'relationships:write',
  'consents:read',
  'consents:write',
  'consents:verify',
  'programs:read',
  'programs:write',
  'integrations:read',
  'integrations:manage',
  'integrations:review',
  'integrations:approve',
  'exchange:push',
  'exchange:pull',
  'webhooks:manage',
  'audit:read',
  'vocabulary:read',
  'dci:search',
  'sensitive:read',
] as const;
export type Scope = (typeof SCOPES)[number];

export const ROLES = [
  'root',
  'tenant_admin',
  'registrar',
  'reviewer',
  'approver',
  'auditor',
  'integration',
] as const;
export type Role = (typeof ROLES)[number];

const READ_REGISTRY: Scope[] = [
  'persons:read',
  'households:read',
  'consents:read',
  'programs:read',
  'vocabulary:read',
];

/** What each role may do by default; a client may be limited to fewer. */
export const ROLE_SCOPES: Record<Role, readonly Scope[]> = {
  root: SCOPES,
  tenant_admin: SCOPES,
  registrar: [
    ...READ_REGISTRY,
    'persons:write',
    'households:write',
    'relationships:write',
    'consents:write',
    'programs:write',
  ],
  reviewer: [...READ_REGISTRY, 'consents:verify', 'integrations:read', 'integrations:review'],
  approver: ['integrations:read', 'integrations:approve', 'vocabulary:read'],
  auditor: [...READ_REGISTRY, 'audit:read', 'integrations:read'],
  integration: ['exchange:push', 'exchange:pull', 'dci:search'],
};

export function isScope(value: string): value is Scope {
  return (SCOPES as readonly string[]).includes(value);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}

export function scopesOfRoles(roles: readonly Role[]): Set<Scope> {
  const out = new Set<Scope>();
  for (const role of roles) for (const s of ROLE_SCOPES[role]) out.add(s);
  return out;
}
