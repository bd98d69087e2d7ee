import { type Classification, DEFAULT_CLASSIFICATION } from '../access/classification.js';
import { roleAccessTable } from '../access/role-access.js';
import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Queryable } from '../db/database.js';
import { requireTenant } from '../db/tx.js';
import { notFound } from '../http/errors.js';
import * as repo from './repo.js';
import type { AccessPolicy, AccessPolicyPatch, TenantSettings } from './schemas.js';
import type { TenantSettingsCache } from './settings.js';

function policyOf(settings: TenantSettings): AccessPolicy {
  const fc = (settings.field_classification ?? {}) as Record<string, Classification>;
  const ra = settings.role_field_access ?? {};
  return {
    field_classification: { ...DEFAULT_CLASSIFICATION, ...fc },
    role_field_access: roleAccessTable(ra),
    separation_of_duties: settings.separation_of_duties ?? true,
    overrides: { field_classification: fc, role_field_access: ra as Record<string, Record<string, string>> },
  };
}

async function settingsOf(q: Queryable, tenantId: string): Promise<TenantSettings> {
  const tenant = await repo.findTenant(q, tenantId);
  if (!tenant) throw notFound('tenant');
  return tenant.settings;
}

/**
 * The tenant's access policy (docs/decisions/0012-access-policy.md): field classification, the
 * role × classification table and separation of duties, read and changed by its tenant admin.
 * A change merges into the overrides (`null` is not accepted: send the default to go back).
 */
export function createAccessPolicyService(db: Database, cache: TenantSettingsCache) {
  return {
    async get(actor: Actor): Promise<AccessPolicy> {
      const tenantId = requireTenant(actor);
      return policyOf(await settingsOf(db, tenantId));
    },

    async patch(actor: Actor, input: AccessPolicyPatch): Promise<AccessPolicy> {
      const tenantId = requireTenant(actor);
      // The tenants table is global: written outside the tenant role, for the actor's tenant only.
      const updated = await db.transaction(async (tx) => {
        await tx.query('SELECT 1 FROM tenants WHERE id = $1 FOR UPDATE', [tenantId]);
        const current = await settingsOf(tx, tenantId);
        const roles = { ...current.role_field_access };
        for (const [role, row] of Object.entries(input.role_field_access ?? {})) {
          roles[role as keyof typeof roles] = { ...roles[role as keyof typeof roles], ...row };
        }
        const next: TenantSettings = {
          ...current,
          field_classification: { ...current.field_classification, ...input.field_classification },
          role_field_access: roles,
          ...(input.separation_of_duties !== undefined
            ? { separation_of_duties: input.separation_of_duties }
            : {}),
        };
        await repo.updateTenant(tx, tenantId, { settings: next });
        await recordAudit(
          tx,
          actor,
          auditOf(
            actor,
            'tenant.access_policy_update',
            { type: 'tenant', id: tenantId },
            {
              details: {
                field_classification: input.field_classification ?? {},
                role_field_access: input.role_field_access ?? {},
                ...(input.separation_of_duties !== undefined
                  ? { separation_of_duties: input.separation_of_duties }
                  : {}),
              },
            },
          ),
        );
        return next;
      });
      cache.invalidate(tenantId);
      return policyOf(updated);
    },
  };
}

export type AccessPolicyService = ReturnType<typeof createAccessPolicyService>;
