import { createHash } from 'node:crypto';
import type { Actor } from '../auth/principal.js';
import type { Queryable, Tx } from '../db/database.js';
import { NIL_UUID, uuidv7 } from '../lib/ids.js';
import { stableStringify } from '../lib/stable-json.js';

export type Outcome = 'success' | 'failure' | 'denied';

export interface AuditEvent {
  tenantId: string | null;
  actorId: string | null;
  /** Public id of the signed-in person who acted (null for API clients and the system). */
  userId?: string | null;
  action: string;
  resourceType?: string | null;
  resourceId?: string | null;
  outcome: Outcome;
  status?: number | null;
  correlationId?: string | null;
  ip?: string | null;
  verticalId?: string | null;
  programId?: string | null;
  severity?: 'normal' | 'elevated';
  details?: Record<string, unknown> | null;
}

/** The stored columns of an event, in chain order. */
export interface StoredAuditEvent {
  event_id: string;
  occurred_at: Date;
  tenant_id: string | null;
  actor_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: Outcome;
  status: number | null;
  correlation_id: string | null;
  ip: string | null;
  vertical_id: string | null;
  program_id: string | null;
  severity: 'normal' | 'elevated';
  details: Record<string, unknown> | null;
  user_id: string | null;
}

export function canonicalAuditText(e: StoredAuditEvent): string {
  return stableStringify([
    e.event_id,
    e.occurred_at.toISOString(),
    e.tenant_id,
    e.actor_id,
    e.action,
    e.resource_type,
    e.resource_id,
    e.outcome,
    e.status,
    e.correlation_id,
    e.ip,
    e.vertical_id,
    e.program_id,
    e.severity,
    e.details,
    // Appended only when set, so events stored before users existed keep their hashes.
    ...(e.user_id ? [e.user_id] : []),
  ]);
}

export function chainHash(prev: Buffer, canonical: string): Buffer {
  const inner = createHash('sha256').update(canonical, 'utf8').digest();
  return createHash('sha256').update(prev).update(inner).digest();
}

function toStored(event: AuditEvent): StoredAuditEvent {
  return {
    event_id: uuidv7(),
    occurred_at: new Date(),
    tenant_id: event.tenantId,
    actor_id: event.actorId,
    action: event.action,
    resource_type: event.resourceType ?? null,
    resource_id: event.resourceId ?? null,
    outcome: event.outcome,
    status: event.status ?? null,
    correlation_id: event.correlationId ?? null,
    ip: event.ip ?? null,
    vertical_id: event.verticalId ?? null,
    program_id: event.programId ?? null,
    severity: event.severity ?? 'normal',
    details: event.details ?? null,
    user_id: event.userId ?? null,
  };
}

/** Events a transaction has yet to append, flushed in one statement just before its COMMIT. */
const pendingByTx = new WeakMap<Tx, AuditEvent[]>();

const isTx = (q: Queryable): q is Tx => typeof (q as Partial<Tx>).beforeCommit === 'function';

/**
 * Appends an event to its tenant's hash chain in the caller's transaction. Writes call it inside
 * their own transaction, so a change whose audit event cannot be stored is rolled back with it
 * (fail closed). In a transaction the append waits until just before COMMIT: it locks the
 * tenant's chain head, and holding that lock for the whole transaction would serialise every
 * write of the tenant behind it.
 */
export async function appendAudit(q: Queryable, event: AuditEvent): Promise<void> {
  if (isTx(q)) {
    // Id (time-ordered) and time are given at the flush, just before the chain lock is taken, so
    // a reader paging the list by id does not pass over an event of a long transaction.
    const pending = pendingByTx.get(q);
    if (pending) pending.push(event);
    else {
      pendingByTx.set(q, [event]);
      q.beforeCommit(async () => {
        const events = pendingByTx.get(q) ?? [];
        pendingByTx.delete(q);
        await appendAuditMany(q, events);
      });
    }
    return;
  }
  const stored = toStored(event);
  await q.query(
    'SELECT audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)',
    [
      stored.tenant_id ?? NIL_UUID,
      stored.event_id,
      stored.occurred_at.toISOString(),
      stored.tenant_id,
      stored.actor_id,
      stored.action,
      stored.resource_type,
      stored.resource_id,
      stored.outcome,
      stored.status,
      stored.correlation_id,
      stored.ip,
      stored.vertical_id,
      stored.program_id,
      stored.severity,
      stored.details === null ? null : JSON.stringify(stored.details),
      canonicalAuditText(stored),
      stored.user_id,
    ],
  );
}

/** Appends several events in one statement, in order (the request-audit buffer). */
export async function appendAuditMany(q: Queryable, events: AuditEvent[]): Promise<void> {
  if (events.length === 0) return;
  const rows = events.map((e) => {
    const stored = toStored(e);
    return {
      ...stored,
      tenant_key: stored.tenant_id ?? NIL_UUID,
      occurred_at: stored.occurred_at.toISOString(),
      canonical: canonicalAuditText(stored),
    };
  });
  await q.query('SELECT audit_append_many($1::jsonb)', [JSON.stringify(rows)]);
}

/** Appends the event of an operation and marks the operation as audited (no extra request event). */
export async function recordAudit(q: Queryable, actor: Actor, event: AuditEvent): Promise<void> {
  await appendAudit(q, event);
  actor.audit.recorded = true;
}

/** An audit event for an operation by `actor` (ROOT is recorded at elevated severity). */
export function auditOf(
  actor: Actor,
  action: string,
  resource: { type: string; id: string | null },
  extra: Partial<AuditEvent> = {},
): AuditEvent {
  return {
    tenantId: actor.tenantId,
    actorId: actor.principal.clientId,
    userId: actor.principal.userId ?? null,
    action,
    resourceType: resource.type,
    resourceId: resource.id,
    outcome: 'success',
    status: null,
    correlationId: actor.correlationId,
    ip: actor.ip,
    severity: actor.principal.isRoot ? 'elevated' : 'normal',
    ...extra,
  };
}
