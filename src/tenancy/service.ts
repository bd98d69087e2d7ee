import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { ChangeFeed } from '../db/change-feed.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, conflict, forbidden, notFound } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { uuidv7 } from '../lib/ids.js';
import * as repo from './repo.js';
import {
  SYSTEM_VERTICALS,
  type Tenant,
  type TenantCreate,
  type TenantPatch,
  type Vertical,
  type VerticalCreate,
} from './schemas.js';

/** Seeds a new tenant's reference data (verticals, vocabularies…) in the creating transaction. */
export type TenantSeeder = (tx: Tx, tenantId: string) => Promise<void>;

function assertRoot(actor: Actor): void {
  if (!actor.principal.isRoot) throw forbidden('only ROOT manages tenants');
}

export const seedSystemVerticals: TenantSeeder = async (tx, tenantId) => {
  for (const v of SYSTEM_VERTICALS) {
    await repo.insertVertical(tx, { tenantId, id: uuidv7(), code: v.code, name: v.name, isSystem: true });
  }
};

export function createTenantService(db: Database, seeders: TenantSeeder[], changes: ChangeFeed) {
  return {
    async create(actor: Actor, input: TenantCreate): Promise<Tenant> {
      assertRoot(actor);
      try {
        return await db.transaction(async (tx) => {
          const tenant = await repo.insertTenant(tx, {
            id: uuidv7(),
            name: input.name,
            code: input.code,
            settings: input.settings ?? {},
          });
          for (const seed of seeders) await seed(tx, tenant.tenant_id);
          await recordAudit(
            tx,
            actor,
            auditOf({ ...actor, tenantId: tenant.tenant_id }, 'tenant.create', {
              type: 'tenant',
              id: tenant.tenant_id,
            }),
          );
          return tenant;
        });
      } catch (err) {
        if (isPgError(err) && err.code === PgCode.uniqueViolation) {
          throw conflict(`a tenant with code "${input.code}" already exists`, 'code');
        }
        throw err;
      }
    },

    async list(actor: Actor, page: { limit: number; cursor?: string }) {
      assertRoot(actor);
      const rows = await repo.listTenants(db, decodeIdCursor(page.cursor), page.limit);
      return pageOf(rows, page.limit, (t) => [t.tenant_id]);
    },

    async get(actor: Actor, id: string): Promise<Tenant> {
      assertRoot(actor);
      const tenant = await repo.findTenant(db, id);
      if (!tenant) throw notFound('tenant');
      return tenant;
    },

    async patch(actor: Actor, id: string, input: TenantPatch): Promise<Tenant> {
      assertRoot(actor);
      const updated = await db.transaction(async (tx) => {
        const current = await repo.findTenant(tx, id);
        if (!current) throw notFound('tenant');
        const settings = input.settings ? { ...current.settings, ...input.settings } : undefined;
        const updated = await repo.updateTenant(tx, id, { ...input, settings });
        await recordAudit(
          tx,
          actor,
          auditOf(
            { ...actor, tenantId: id },
            'tenant.update',
            { type: 'tenant', id },
            {
              details: { fields: Object.keys(input) },
            },
          ),
        );
        return updated!;
      });
      // Status and settings are cached with every client of the tenant, in every process.
      await changes.publish('tenant', id);
      return updated;
    },

    /** Settings of the actor's tenant (consent grace, verification, classification). */
    async settingsOf(tx: Tx, tenantId: string) {
      const tenant = await repo.findTenant(tx, tenantId);
      if (!tenant) throw notFound('tenant');
      return tenant.settings;
    },
  };
}

export function createVerticalService(db: Database) {
  return {
    async list(actor: Actor): Promise<Vertical[]> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, (tx) => repo.listVerticals(tx, tenantId));
    },

    async create(actor: Actor, input: VerticalCreate): Promise<Vertical> {
      const tenantId = requireTenant(actor);
      if (!actor.principal.isRoot && !actor.principal.roles.includes('tenant_admin')) {
        throw forbidden('only tenant admins manage verticals');
      }
      try {
        return await tenantTx(db, actor, async (tx) => {
          const v = await repo.insertVertical(tx, {
            tenantId,
            id: uuidv7(),
            code: input.code,
            name: input.name,
            isSystem: false,
          });
          await recordAudit(
            tx,
            actor,
            auditOf(actor, 'vertical.create', { type: 'vertical', id: v.vertical_id }),
          );
          return v;
        });
      } catch (err) {
        if (isPgError(err) && err.code === PgCode.uniqueViolation) {
          throw conflict(`vertical ${input.code} already exists`, 'code');
        }
        throw err;
      }
    },

    /** Refuses vertical ids that are not verticals of the tenant (422 naming them). */
    async assertExist(
      tx: Tx,
      tenantId: string,
      ids: readonly string[],
      field = 'vertical_ids',
    ): Promise<void> {
      const found = await repo.existingVerticalIds(tx, tenantId, ids);
      const missing = ids.filter((id) => !found.has(id));
      if (missing.length > 0) {
        throw new AppError('ERR_VAL_RULE_VIOLATION', `${field}: unknown vertical(s) ${missing.join(', ')}`, {
          errors: [{ field, message: `not a vertical of this tenant: ${missing.join(', ')}` }],
        });
      }
    },
  };
}

export type TenantService = ReturnType<typeof createTenantService>;
export type VerticalService = ReturnType<typeof createVerticalService>;
