import type { Actor } from '../auth/principal.js';
import { AppError } from '../http/errors.js';
import type { Database, Tx } from './database.js';

/**
 * Runs `fn` in a transaction bound to the actor's tenant: the hearth_app role with row-level
 * security, so even a query that forgets its tenant filter sees only that tenant. ROOT outside
 * any tenant runs unrestricted.
 */
export function tenantTx<T>(db: Database, actor: Actor, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(fn, { tenantId: actor.tenantId });
}

/** The tenant an operation needs; ROOT must name one with the X-Tenant-Id header. */
export function requireTenant(actor: Actor): string {
  if (actor.tenantId) return actor.tenantId;
  throw new AppError('ERR_VAL_MISSING_FIELD', 'ROOT must name the tenant with the X-Tenant-Id header', {
    status: 400,
    errors: [{ field: 'X-Tenant-Id', message: 'is required for ROOT on tenant resources' }],
  });
}
