import type { Actor } from '../auth/principal.js';
import type { Queryable } from '../db/database.js';
import type { Overrides } from './classification.js';
import { type RoleAccessOverrides, type RoleAccessRow, staffAccess } from './role-access.js';

/**
 * Who reads, as the access policy sees it (docs/decisions/0012-access-policy.md):
 * - `root`: everything, audited;
 * - `staff`: the tenant's own clients (and users): consent governs them, with the registration
 *   stage their role table allows;
 * - `third_party`: consent-bound callers (role `integration`, DCI senders, clients marked
 *   consent-bound): a person only under consent, and then exactly their active contracts'
 *   field_list (basic fields without a contract).
 */
export interface Reader {
  kind: 'root' | 'staff' | 'third_party';
  /** The tenant's field classification overrides. */
  overrides: Overrides;
  /** What the reader's roles see of personal and sensitive fields (staff). */
  staff: RoleAccessRow;
  /** Union of the field_list of the reader's contracts in force; null: none (third party). */
  contractFields: ReadonlySet<string> | null;
  /** Verticals whose consent counts; null: any vertical of the tenant. */
  verticals: readonly string[] | null;
  /** False when the tenant lets a client verify what it registered or captured itself. */
  separationOfDuties: boolean;
}

interface PolicyRow {
  field_classification: Overrides | null;
  role_field_access: RoleAccessOverrides | null;
  separation_of_duties: boolean | null;
  contract_fields: string[] | null;
}

/** One policy load per operation and reader: an operation sees one consistent policy. */
const memo = new WeakMap<object, Map<string, Reader>>();

/** The reader an actor is in a tenant: tenant policy and contracts read fresh for each operation. */
export async function readerOf(q: Queryable, actor: Actor, tenantId: string): Promise<Reader> {
  const p = actor.principal;
  const key = `${tenantId}|${p.clientId}|${p.isRoot}|${p.consentBound}|${p.integrationId ?? ''}`;
  let perOp = memo.get(actor.audit);
  const hit = perOp?.get(key);
  if (hit) return hit;
  const { rows } = await q.query<PolicyRow>(
    `SELECT t.settings->'field_classification' AS field_classification,
            t.settings->'role_field_access' AS role_field_access,
            (t.settings->>'separation_of_duties')::boolean AS separation_of_duties,
            (SELECT array_agg(DISTINCT f ORDER BY f)
               FROM integration_contracts c, unnest(c.field_list) AS f
              WHERE c.tenant_id = t.id AND c.integration_id = $2::uuid AND c.status = 'active'
                AND c.active_from <= now() AND (c.active_until IS NULL OR c.active_until > now())) AS contract_fields
       FROM tenants t WHERE t.id = $1`,
    [tenantId, p.consentBound && !p.isRoot ? p.integrationId : null],
  );
  const row = rows[0];
  const reader: Reader = {
    kind: p.isRoot ? 'root' : p.consentBound ? 'third_party' : 'staff',
    overrides: row?.field_classification ?? undefined,
    staff: staffAccess(p.roles, p.scopes.has('sensitive:read'), row?.role_field_access ?? undefined),
    contractFields: row?.contract_fields ? new Set(row.contract_fields) : null,
    verticals: p.verticalIds.length > 0 ? [...p.verticalIds] : null,
    separationOfDuties: row?.separation_of_duties ?? true,
  };
  if (!perOp) {
    perOp = new Map();
    memo.set(actor.audit, perOp);
  }
  perOp.set(key, reader);
  return reader;
}

/**
 * The actor as a third party: consent-bound and never ROOT, whatever its roles. Faces whose every
 * caller is a partner (DCI) and deliveries made on a partner's behalf (webhooks) read through it.
 */
export function asThirdParty(actor: Actor): Actor {
  return { ...actor, principal: { ...actor.principal, consentBound: true, isRoot: false } };
}
