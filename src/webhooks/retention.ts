import type { Database, Queryable } from '../db/database.js';

/**
 * Retention of the delivery log and the outbox (docs/decisions/0046): finished deliveries
 * (succeeded, failed, held) and their attempts older than the delivery retention go first, then
 * dispatched events older than the outbox retention that nothing still needs. Small batches, one
 * short transaction each, rows locked with SKIP LOCKED, so a large backlog never becomes one huge
 * transaction and never waits on (or blocks) a delivery being recorded or redelivered.
 *
 * An event stays while any delivery of it is left (the deliveries' foreign key; a waiting,
 * pending or recent one is never deleted here) or a DCI notification about it is still pending
 * (it reads the event when it is sent). Undispatched events (pending or parked) always stay.
 */

export interface RetentionOptions {
  /** Days a dispatched event is kept; 0: forever. */
  outboxDays: number;
  /** Days a finished delivery is kept; 0: forever. */
  deliveryDays: number;
  /** Rows per transaction (default 500). */
  batchSize?: number;
  /** One run stops after this long (default 20 s); the next run carries on. */
  budgetMs?: number;
}

export interface RetentionResult {
  deliveries: number;
  attempts: number;
  events: number;
  /** DCI callbacks (with their attempts) removed. */
  callbacks: number;
}

/** One batch of finished deliveries older than `days`, with their attempts. */
export async function purgeDeliveryBatch(
  db: Database,
  days: number,
  limit: number,
): Promise<{ deliveries: number; attempts: number }> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ tenant_id: string; id: string }>(
      `SELECT tenant_id, id FROM webhook_deliveries
        WHERE status IN ('succeeded', 'failed', 'held') AND completed_at < now() - make_interval(days => $1)
        ORDER BY completed_at
        LIMIT $2
        FOR UPDATE SKIP LOCKED`,
      [days, limit],
    );
    if (rows.length === 0) return { deliveries: 0, attempts: 0 };
    const keys = [rows.map((r) => r.tenant_id), rows.map((r) => r.id)];
    const attempts = await deleteByKeys(
      tx,
      `DELETE FROM webhook_delivery_attempts a USING unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, id)
        WHERE a.tenant_id = k.tenant_id AND a.delivery_id = k.id`,
      keys,
    );
    const deliveries = await deleteByKeys(
      tx,
      `DELETE FROM webhook_deliveries d USING unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, id)
        WHERE d.tenant_id = k.tenant_id AND d.id = k.id`,
      keys,
    );
    return { deliveries, attempts };
  });
}

/** One batch of dispatched events older than `days` that no delivery or pending DCI notification needs. */
export async function purgeEventBatch(db: Database, days: number, limit: number): Promise<number> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ tenant_id: string; event_id: string }>(
      `SELECT e.tenant_id, e.event_id FROM outbox_events e
        WHERE e.dispatched_at IS NOT NULL AND e.dispatched_at < now() - make_interval(days => $1)
          AND NOT EXISTS (
            SELECT 1 FROM webhook_deliveries d WHERE d.tenant_id = e.tenant_id AND d.event_id = e.event_id)
          AND NOT EXISTS (
            SELECT 1 FROM dci_callbacks c
             WHERE c.tenant_id = e.tenant_id AND c.event_id = e.event_id
               AND c.action = 'notify' AND c.status = 'pending')
        ORDER BY e.dispatched_at
        LIMIT $2
        FOR UPDATE OF e SKIP LOCKED`,
      [days, limit],
    );
    if (rows.length === 0) return 0;
    return deleteByKeys(
      tx,
      `DELETE FROM outbox_events o USING unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, event_id)
        WHERE o.tenant_id = k.tenant_id AND o.event_id = k.event_id`,
      [rows.map((r) => r.tenant_id), rows.map((r) => r.event_id)],
    );
  });
}

/**
 * One batch of finished DCI callbacks older than `days`, with their attempts. A succeeded notify
 * of a live subscription stays: it is how REGISTER goes out once per person (notifiedBefore).
 */
export async function purgeCallbackBatch(db: Database, days: number, limit: number): Promise<number> {
  return db.transaction(async (tx) => {
    const { rows } = await tx.query<{ tenant_id: string; id: string }>(
      `SELECT c.tenant_id, c.id FROM dci_callbacks c
        WHERE c.status IN ('succeeded', 'failed', 'skipped')
          AND c.completed_at < now() - make_interval(days => $1)
          AND NOT (c.action = 'notify' AND c.status = 'succeeded' AND EXISTS (
                SELECT 1 FROM dci_subscriptions s
                 WHERE s.tenant_id = c.tenant_id AND s.id = c.subscription_id AND s.ended_at IS NULL))
        ORDER BY c.completed_at
        LIMIT $2
        FOR UPDATE OF c SKIP LOCKED`,
      [days, limit],
    );
    if (rows.length === 0) return 0;
    const keys = [rows.map((r) => r.tenant_id), rows.map((r) => r.id)];
    await deleteByKeys(
      tx,
      `DELETE FROM dci_callback_attempts a USING unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, id)
        WHERE a.tenant_id = k.tenant_id AND a.callback_id = k.id`,
      keys,
    );
    return deleteByKeys(
      tx,
      `DELETE FROM dci_callbacks c USING unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, id)
        WHERE c.tenant_id = k.tenant_id AND c.id = k.id`,
      keys,
    );
  });
}

async function deleteByKeys(q: Queryable, sql: string, keys: string[][]): Promise<number> {
  const { rowCount } = await q.query(sql, keys);
  return rowCount ?? 0;
}

/**
 * One retention run: delivery batches until none is full (or the budget is spent), then event
 * batches the same way. Deliveries go first so that the events they held can go in the same run.
 */
export async function purgeExpired(db: Database, options: RetentionOptions): Promise<RetentionResult> {
  const batch = options.batchSize ?? 500;
  const deadline = Date.now() + (options.budgetMs ?? 20_000);
  const result: RetentionResult = { deliveries: 0, attempts: 0, events: 0, callbacks: 0 };
  if (options.deliveryDays > 0) {
    for (;;) {
      const n = await purgeDeliveryBatch(db, options.deliveryDays, batch);
      result.deliveries += n.deliveries;
      result.attempts += n.attempts;
      if (n.deliveries < batch || Date.now() >= deadline) break;
    }
    // DCI callbacks are deliveries too (their log follows the same retention).
    while (Date.now() < deadline) {
      const n = await purgeCallbackBatch(db, options.deliveryDays, batch);
      result.callbacks += n;
      if (n < batch) break;
    }
  }
  if (options.outboxDays > 0) {
    while (Date.now() < deadline) {
      const n = await purgeEventBatch(db, options.outboxDays, batch);
      result.events += n;
      if (n < batch) break;
    }
  }
  return result;
}
