import type { Queryable } from '../db/database.js';
import type { OutboxEvent } from '../events/dispatcher.js';
import { isUuid } from '../lib/ids.js';
import type { Delivery, DeliveryAttempt, DeliveryStatus } from './schemas.js';

export interface DeliveryRow {
  tenant_id: string;
  id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  resource_id: string;
  status: DeliveryStatus;
  attempts: number;
  round_attempts: number;
  next_attempt_at: Date | null;
  last_status_code: number | null;
  last_error: string | null;
  redeliveries: number;
  created_at: Date;
  updated_at: Date;
  completed_at: Date | null;
}

interface AttemptRow {
  delivery_id: string;
  attempt: number;
  attempted_at: Date;
  duration_ms: number;
  status_code: number | null;
  error: string | null;
  response_excerpt: string | null;
  signed_with: string[];
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toDelivery(r: DeliveryRow, attempts: AttemptRow[]): Delivery {
  return {
    delivery_id: r.id,
    webhook_id: r.webhook_id,
    event_id: r.event_id,
    event_type: r.event_type,
    resource_id: r.resource_id,
    status: r.status,
    attempts: r.attempts,
    next_attempt_at: iso(r.next_attempt_at),
    last_status_code: r.last_status_code,
    last_error: r.last_error,
    redeliveries: r.redeliveries,
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    completed_at: iso(r.completed_at),
    attempt_log: attempts.map(
      (a): DeliveryAttempt => ({
        attempt: a.attempt,
        attempted_at: a.attempted_at.toISOString(),
        duration_ms: a.duration_ms,
        status_code: a.status_code,
        error: a.error,
        response_excerpt: a.response_excerpt,
        signed_with: a.signed_with,
      }),
    ),
  };
}

/** A webhook matching an event at dispatch time. */
export interface Match {
  tenant_id: string;
  event_id: string;
  webhook_id: string;
  resource_id: string;
  type: string;
}

/**
 * The (event, webhook) pairs to deliver: the webhook is active, subscribes to the type, its
 * window holds the event's time (and it existed then: no backfill), and its integration is active or restricted, inside its own
 * window and declares the event's vertical (events without a vertical go to every integration
 * of the tenant). Events about an integration (its status, its exchanges) go only to that
 * integration's webhooks. Runs in the dispatcher's system transaction: tenants are matched
 * explicitly.
 */
export async function matchWebhooks(q: Queryable, events: readonly OutboxEvent[]): Promise<Match[]> {
  const integrationOf = (e: OutboxEvent): string | null => {
    if (e.resource_type === 'integration') return e.resource_id;
    const id = e.data?.integration_id;
    return typeof id === 'string' && isUuid(id) ? id : null;
  };
  const { rows } = await q.query<Match>(
    `SELECT e.tenant_id, e.event_id, w.id AS webhook_id, e.resource_id, e.type
       FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::uuid[], $6::uuid[], $7::uuid[])
              AS e(tenant_id, event_id, type, occurred_at, vertical_id, resource_id, integration_id)
       JOIN webhooks w ON w.tenant_id = e.tenant_id AND w.status = 'active' AND e.type = ANY (w.event_types)
            AND w.active_from <= e.occurred_at AND w.created_at <= e.occurred_at
            AND (w.active_until IS NULL OR w.active_until > e.occurred_at)
            AND (e.integration_id IS NULL OR w.integration_id = e.integration_id)
       JOIN integrations i ON i.tenant_id = w.tenant_id AND i.id = w.integration_id
            AND i.status IN ('active', 'restricted')
            AND i.active_from <= e.occurred_at AND (i.active_until IS NULL OR i.active_until > e.occurred_at)
            AND (e.vertical_id IS NULL OR e.vertical_id = ANY (i.vertical_ids))
      ORDER BY e.event_id, w.id`,
    [
      events.map((e) => e.tenant_id),
      events.map((e) => e.event_id),
      events.map((e) => e.type),
      events.map((e) => new Date(e.occurred_at).toISOString()),
      events.map((e) => e.vertical_id),
      events.map((e) => e.resource_id),
      events.map(integrationOf),
    ],
  );
  return rows;
}

/**
 * (tenant, webhook, resource) keys that already have an unfinished delivery. The rows are locked,
 * so a worker finishing one of them either commits first (and is not seen here) or waits for this
 * transaction and then sees the new waiting rows.
 */
export async function lockOpenResources(q: Queryable, matches: readonly Match[]): Promise<Set<string>> {
  if (matches.length === 0) return new Set();
  const { rows } = await q.query<{ tenant_id: string; webhook_id: string; resource_id: string }>(
    `SELECT d.tenant_id, d.webhook_id, d.resource_id
       FROM webhook_deliveries d
       JOIN (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS k(tenant_id, webhook_id, resource_id)) k
         ON d.tenant_id = k.tenant_id AND d.webhook_id = k.webhook_id AND d.resource_id = k.resource_id
      WHERE d.status IN ('waiting', 'pending')
      ORDER BY d.tenant_id, d.id
      FOR UPDATE OF d`,
    [matches.map((m) => m.tenant_id), matches.map((m) => m.webhook_id), matches.map((m) => m.resource_id)],
  );
  return new Set(rows.map((r) => resourceKey(r.tenant_id, r.webhook_id, r.resource_id)));
}

export const resourceKey = (tenantId: string, webhookId: string, resourceId: string) =>
  `${tenantId}/${webhookId}/${resourceId}`;

export interface NewDelivery {
  tenantId: string;
  id: string;
  webhookId: string;
  eventId: string;
  eventType: string;
  resourceId: string;
  status: 'waiting' | 'pending';
}

export async function insertDeliveries(q: Queryable, ds: readonly NewDelivery[]): Promise<void> {
  if (ds.length === 0) return;
  await q.query(
    `INSERT INTO webhook_deliveries (tenant_id, id, webhook_id, event_id, event_type, resource_id, status,
       next_attempt_at)
     SELECT tenant_id, id, webhook_id, event_id, event_type, resource_id, status,
            CASE WHEN status = 'pending' THEN now() END
       FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::uuid[], $7::text[])
              AS d(tenant_id, id, webhook_id, event_id, event_type, resource_id, status)
     ON CONFLICT (tenant_id, webhook_id, event_id) DO NOTHING`,
    [
      ds.map((d) => d.tenantId),
      ds.map((d) => d.id),
      ds.map((d) => d.webhookId),
      ds.map((d) => d.eventId),
      ds.map((d) => d.eventType),
      ds.map((d) => d.resourceId),
      ds.map((d) => d.status),
    ],
  );
}

export async function findDelivery(
  q: Queryable,
  tenantId: string,
  id: string,
  forUpdate = false,
): Promise<DeliveryRow | null> {
  const { rows } = await q.query<DeliveryRow>(
    `SELECT * FROM webhook_deliveries WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}

export async function listDeliveries(
  q: Queryable,
  f: {
    tenantId: string;
    webhookId: string;
    status?: string;
    eventId?: string;
    beforeId: string | null;
    limit: number;
  },
): Promise<Delivery[]> {
  const { rows } = await q.query<DeliveryRow>(
    `SELECT * FROM webhook_deliveries
      WHERE tenant_id = $1 AND webhook_id = $2 AND ($3::text IS NULL OR status = $3)
        AND ($4::uuid IS NULL OR event_id = $4) AND ($5::uuid IS NULL OR id < $5)
      ORDER BY id DESC LIMIT $6`,
    [f.tenantId, f.webhookId, f.status ?? null, f.eventId ?? null, f.beforeId, f.limit + 1],
  );
  return withAttempts(q, f.tenantId, rows);
}

export async function withAttempts(q: Queryable, tenantId: string, rows: DeliveryRow[]): Promise<Delivery[]> {
  if (rows.length === 0) return [];
  const { rows: attempts } = await q.query<AttemptRow>(
    `SELECT delivery_id, attempt, attempted_at, duration_ms, status_code, error, response_excerpt, signed_with
       FROM webhook_delivery_attempts WHERE tenant_id = $1 AND delivery_id = ANY ($2::uuid[])
      ORDER BY delivery_id, attempt`,
    [tenantId, rows.map((r) => r.id)],
  );
  const by = new Map<string, AttemptRow[]>();
  for (const a of attempts) by.set(a.delivery_id, [...(by.get(a.delivery_id) ?? []), a]);
  return rows.map((r) => toDelivery(r, by.get(r.id) ?? []));
}

/** Disabling a webhook: everything not yet sent is kept as held. */
export async function holdOpen(
  q: Queryable,
  tenantId: string,
  webhookId: string,
  why: string,
): Promise<number> {
  const { rowCount } = await q.query(
    `UPDATE webhook_deliveries SET status = 'held', last_error = $3, next_attempt_at = NULL,
            completed_at = now(), updated_at = now()
      WHERE tenant_id = $1 AND webhook_id = $2 AND status IN ('waiting', 'pending')`,
    [tenantId, webhookId, why],
  );
  return rowCount;
}

/** A redelivery: pending again now, with a fresh round of attempts. */
export async function requeue(q: Queryable, tenantId: string, id: string): Promise<DeliveryRow> {
  const { rows } = await q.query<DeliveryRow>(
    `UPDATE webhook_deliveries
        SET status = 'pending', next_attempt_at = now(), round_attempts = 0, redeliveries = redeliveries + 1,
            locked_by = NULL, locked_until = NULL, completed_at = NULL, updated_at = now()
      WHERE tenant_id = $1 AND id = $2 RETURNING *`,
    [tenantId, id],
  );
  return rows[0];
}
