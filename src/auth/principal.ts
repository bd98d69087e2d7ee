import type { Role, Scope } from './scopes.js';

/** Who is asking: resolved from a verified token (or Basic credentials) on every request. */
export interface Principal {
  /** Public client id (`sub` of the token). */
  clientId: string;
  /** Null for ROOT clients. */
  tenantId: string | null;
  roles: readonly Role[];
  scopes: ReadonlySet<Scope>;
  /** Verticals the client is limited to; empty means every vertical of its tenant. */
  verticalIds: readonly string[];
  /** Programmes the client is limited to; empty means every programme. */
  allowedPrograms: readonly string[];
  integrationId: string | null;
  /** Reads need consent even for staff roles (integrations, DCI senders, marked clients). */
  consentBound: boolean;
  sourceSystem: string | null;
  rateLimitPerMinute: number | null;
  isRoot: boolean;
  /** Public id of the signed-in person acting through a browser session (absent for API clients). */
  userId?: string | null;
  username?: string | null;
}

export function hasScope(p: Principal, scope: Scope): boolean {
  return p.isRoot || p.scopes.has(scope);
}

export function hasRole(p: Principal, ...roles: Role[]): boolean {
  return roles.some((r) => p.roles.includes(r));
}

/**
 * The actor of one operation as domain services see it: the principal, the tenant the operation
 * runs in (a ROOT principal may target one), and request facts for audit and provenance. No HTTP
 * types cross this line.
 */
export interface Actor {
  principal: Principal;
  /** Tenant the operation is scoped to; null only for ROOT operations outside any tenant. */
  tenantId: string | null;
  correlationId: string;
  ip: string | null;
  sourceSystem: string | null;
  /**
   * `recorded`: an audit event for this operation was written inside its transaction.
   * `masked`: person fields the access decision masked in what this operation returned, so the
   * request's audit event records the masking decision; `sensitive`: sensitive fields it showed.
   */
  audit: {
    recorded: boolean;
    masked?: Set<string>;
    maskedPersons?: number;
    /** Sensitive person fields shown unmasked to a non-ROOT reader (audited as sensitive reads). */
    sensitive?: Set<string>;
    sensitivePersons?: number;
  };
}

/** A system actor for background jobs and the CLI. */
export function systemActor(tenantId: string | null, label = 'system'): Actor {
  return {
    principal: {
      clientId: label,
      tenantId,
      roles: ['root'],
      scopes: new Set(),
      verticalIds: [],
      allowedPrograms: [],
      integrationId: null,
      consentBound: false,
      sourceSystem: null,
      rateLimitPerMinute: null,
      isRoot: true,
    },
    tenantId,
    correlationId: label,
    ip: null,
    sourceSystem: null,
    audit: { recorded: false },
  };
}
