import type { Actor } from '../auth/principal.js';
import { AppError } from '../http/errors.js';
import type { Database, Tx } from './database.js';
import type { ReadReplicas } from './read-replicas.js';

/**
 * Runs `fn` in a transaction bound to the actor's tenant: the hearth_app role with row-level
 * security, so even a query that forgets its tenant filter sees only that tenant. ROOT outside
 * any tenant runs unrestricted.
 */
export function tenantTx<T>(db: Database, actor: Actor, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return db.transaction(fn, { tenantId: actor.tenantId });
}

/**
 * Who a read-your-writes decision is about: the signed-in person acting through a session, or
 * else the API client.
 */
export function writerOf(actor: Actor): string {
  const p = actor.principal;
  return p.userId ? `user:${p.userId}` : `client:${p.clientId}`;
}

/**
 * tenantTx for a read that may run on a read replica (searches, pulls): the service chooses this
 * for statements that only read; a caller that wrote recently reads from the primary, and so does
 * everything when no replica handles are given (a unit of work, tests).
 */
export function readTx<T>(
  db: Database,
  reads: ReadReplicas | undefined,
  actor: Actor,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  if (!reads) return tenantTx(db, actor, fn);
  // A read that fails on a replica runs again on the primary: each run starts from the audit
  // facts the actor had before, so masked and sensitive person counts are not counted twice.
  const a = actor.audit;
  const before = {
    recorded: a.recorded,
    masked: a.masked && new Set(a.masked),
    maskedPersons: a.maskedPersons,
    sensitive: a.sensitive && new Set(a.sensitive),
    sensitivePersons: a.sensitivePersons,
  };
  return tenantTx(reads.for(writerOf(actor)), actor, (tx) => {
    Object.assign(actor.audit, {
      ...before,
      masked: before.masked && new Set(before.masked),
      sensitive: before.sensitive && new Set(before.sensitive),
    });
    return fn(tx);
  });
}

/** The tenant an operation needs; ROOT must name one with the X-Tenant-Id header. */
export function requireTenant(actor: Actor): string {
  if (actor.tenantId) return actor.tenantId;
  throw new AppError('ERR_VAL_MISSING_FIELD', 'ROOT must name the tenant with the X-Tenant-Id header', {
    status: 400,
    errors: [{ field: 'X-Tenant-Id', message: 'is required for ROOT on tenant resources' }],
  });
}
