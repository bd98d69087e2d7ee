import type { AuditEvent } from '../audit/audit.js';
import { appendAuditMany } from '../audit/audit.js';
import type { Queryable } from '../db/database.js';
import type { OutboxEvent } from '../events/dispatcher.js';
import type { DeliveryStatus } from './schemas.js';

/**
 * The delivery queue is the webhook_deliveries table itself: due pending rows are claimed with
 * FOR UPDATE SKIP LOCKED and a lock that expires (a worker that dies mid-attempt leaves its rows
 * to be claimed again), outcomes are recorded in groups, one transaction per group. Every
 * statement that waits for delivery row locks takes them in (tenant_id, id) order, so the
 * dispatcher and the delivery sweeps never deadlock.
 */

/** A claimed delivery with what its attempt needs from its webhook and integration. */
export interface Claimed {
  tenant_id: string;
  id: string;
  webhook_id: string;
  event_id: string;
  resource_id: string;
  attempts: number;
  round_attempts: number;
  integration_id: string;
  contract_id: string | null;
  target_url: string;
  webhook_status: string;
  webhook_until: Date | null;
  integration_status: string;
  integration_from: Date;
  integration_until: Date | null;
  auth_client_id: string | null;
}

export async function claimDue(
  q: Queryable,
  workerId: string,
  limit: number,
  lockSeconds: number,
  filter: { tenantIds?: readonly string[] | null; skipWebhooks?: readonly string[] } = {},
): Promise<Claimed[]> {
  const { rows } = await q.query<Claimed>(
    `WITH due AS (
       SELECT tenant_id, id FROM webhook_deliveries
        WHERE status = 'pending' AND next_attempt_at <= now()
          AND (locked_until IS NULL OR locked_until < now())
          AND ($4::uuid[] IS NULL OR tenant_id = ANY ($4::uuid[]))
          AND NOT (webhook_id = ANY ($5::uuid[]))
        ORDER BY next_attempt_at, id
        LIMIT $2
        FOR UPDATE SKIP LOCKED),
     claimed AS (
       UPDATE webhook_deliveries d SET locked_by = $1, locked_until = now() + make_interval(secs => $3)
         FROM due WHERE d.tenant_id = due.tenant_id AND d.id = due.id
       RETURNING d.tenant_id, d.id, d.webhook_id, d.event_id, d.resource_id, d.attempts, d.round_attempts,
                 d.next_attempt_at)
     SELECT c.tenant_id, c.id, c.webhook_id, c.event_id, c.resource_id, c.attempts, c.round_attempts,
            w.integration_id, w.contract_id, w.target_url, w.status AS webhook_status,
            w.active_until AS webhook_until, i.status AS integration_status,
            i.active_from AS integration_from, i.active_until AS integration_until, i.auth_client_id
       FROM claimed c
       JOIN webhooks w ON w.tenant_id = c.tenant_id AND w.id = c.webhook_id
       JOIN integrations i ON i.tenant_id = w.tenant_id AND i.id = w.integration_id
      ORDER BY c.next_attempt_at, c.id`,
    [workerId, limit, lockSeconds, filter.tenantIds ?? null, filter.skipWebhooks ?? []],
  );
  return rows;
}

/** Gives claimed deliveries back (still due), e.g. when their webhook already has its share in flight. */
export async function release(q: Queryable, workerId: string, claimed: readonly Claimed[]): Promise<void> {
  if (claimed.length === 0) return;
  await q.query(
    `WITH locked AS (
       SELECT d.tenant_id, d.id FROM webhook_deliveries d
         JOIN unnest($2::uuid[], $3::uuid[]) AS k(tenant_id, id) ON d.tenant_id = k.tenant_id AND d.id = k.id
        WHERE d.locked_by = $1
        ORDER BY d.tenant_id, d.id
        FOR UPDATE OF d)
     UPDATE webhook_deliveries d SET locked_by = NULL, locked_until = NULL
       FROM locked WHERE d.tenant_id = locked.tenant_id AND d.id = locked.id`,
    [workerId, claimed.map((c) => c.tenant_id), claimed.map((c) => c.id)],
  );
}

export async function loadEvents(
  q: Queryable,
  claimed: readonly Claimed[],
): Promise<Map<string, OutboxEvent>> {
  if (claimed.length === 0) return new Map();
  const { rows } = await q.query<OutboxEvent>(
    `SELECT e.tenant_id, e.event_id, e.type, e.occurred_at, e.vertical_id, e.resource_type, e.resource_id,
            e.person_id, e.changed_fields, e.data
       FROM outbox_events e
       JOIN unnest($1::uuid[], $2::uuid[]) AS k(tenant_id, event_id)
         ON e.tenant_id = k.tenant_id AND e.event_id = k.event_id`,
    [claimed.map((c) => c.tenant_id), claimed.map((c) => c.event_id)],
  );
  return new Map(rows.map((e) => [`${e.tenant_id}/${e.event_id}`, e]));
}

/** Signing keys (private, so system reads only) of the claimed webhooks, newest first per webhook. */
export async function keysOf(
  q: Queryable,
  claimed: readonly Claimed[],
): Promise<Map<string, { public_key_id: string; private_key: string }[]>> {
  const out = new Map<string, { public_key_id: string; private_key: string }[]>();
  if (claimed.length === 0) return out;
  const { rows } = await q.query<{
    tenant_id: string;
    webhook_id: string;
    public_key_id: string;
    private_key: string;
  }>(
    `SELECT k.tenant_id, k.webhook_id, k.public_key_id, k.private_key
       FROM webhook_keys k
       JOIN (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[]) AS x(tenant_id, webhook_id)) x
         ON k.tenant_id = x.tenant_id AND k.webhook_id = x.webhook_id
      WHERE k.expires_at IS NULL OR k.expires_at > now()
      ORDER BY k.tenant_id, k.webhook_id, k.created_at DESC, k.public_key_id`,
    [claimed.map((c) => c.tenant_id), claimed.map((c) => c.webhook_id)],
  );
  for (const r of rows) {
    const key = `${r.tenant_id}/${r.webhook_id}`;
    out.set(key, [...(out.get(key) ?? []), { public_key_id: r.public_key_id, private_key: r.private_key }]);
  }
  return out;
}

/** The result of one claimed delivery: an attempt, or a hold without one. */
export interface Outcome {
  tenantId: string;
  id: string;
  eventId: string;
  webhookId: string;
  status: DeliveryStatus;
  nextAttemptAt: Date | null;
  error: string | null;
  attempt: {
    number: number;
    at: Date;
    durationMs: number;
    statusCode: number | null;
    excerpt: string | null;
    signedWith: string[];
  } | null;
}

/** What an attempt's log row says until its outcome is recorded (and for good if it never is). */
export const ATTEMPT_WITHOUT_OUTCOME = 'no outcome recorded: the worker stopped during the attempt';

/**
 * Counts the attempts about to be made (deliveries this worker still holds) and logs each as
 * without outcome, before any request leaves; recordOutcomes fills the log row in. Returns the
 * `tenant_id/id` keys counted.
 */
export async function startAttempts(
  q: Queryable,
  workerId: string,
  claimed: readonly Claimed[],
): Promise<Set<string>> {
  if (claimed.length === 0) return new Set();
  const { rows } = await q.query<{ tenant_id: string; id: string }>(
    `WITH locked AS (
       SELECT d.tenant_id, d.id FROM webhook_deliveries d
         JOIN unnest($2::uuid[], $3::uuid[]) AS k(tenant_id, id) ON d.tenant_id = k.tenant_id AND d.id = k.id
        WHERE d.locked_by = $1
        ORDER BY d.tenant_id, d.id
        FOR UPDATE OF d),
     counted AS (
       UPDATE webhook_deliveries d
          SET attempts = d.attempts + 1, round_attempts = d.round_attempts + 1, updated_at = now()
         FROM locked WHERE d.tenant_id = locked.tenant_id AND d.id = locked.id
       RETURNING d.tenant_id, d.id, d.attempts),
     logged AS (
       INSERT INTO webhook_delivery_attempts (tenant_id, delivery_id, attempt, attempted_at, duration_ms, error)
       SELECT tenant_id, id, attempts, now(), 0, $4 FROM counted
       ON CONFLICT (tenant_id, delivery_id, attempt) DO NOTHING)
     SELECT tenant_id, id FROM counted`,
    [workerId, claimed.map((c) => c.tenant_id), claimed.map((c) => c.id), ATTEMPT_WITHOUT_OUTCOME],
  );
  return new Set(rows.map((r) => `${r.tenant_id}/${r.id}`));
}

/**
 * Records a group of outcomes in `tx`: attempts (the rows startAttempts logged, filled in), the deliveries' new state (only
 * rows this worker still holds; a delivery disabled meanwhile stays held unless it succeeded),
 * one audit event per attempt, then frees the next waiting delivery of every resource whose
 * delivery finished.
 */
export async function recordOutcomes(
  q: Queryable,
  workerId: string,
  outcomes: readonly Outcome[],
): Promise<void> {
  if (outcomes.length === 0) return;
  const tried = outcomes.filter((o) => o.attempt !== null);
  if (tried.length > 0) {
    await q.query(
      `INSERT INTO webhook_delivery_attempts (tenant_id, delivery_id, attempt, attempted_at, duration_ms,
         status_code, error, response_excerpt, signed_with)
       SELECT a.tenant_id, a.delivery_id, a.attempt, a.attempted_at, a.duration_ms, a.status_code, a.error,
              a.excerpt, ARRAY(SELECT jsonb_array_elements_text(a.signed_with))
         FROM unnest($1::uuid[], $2::uuid[], $3::int[], $4::timestamptz[], $5::int[], $6::int[], $7::text[],
                     $8::text[], $9::jsonb[])
                AS a(tenant_id, delivery_id, attempt, attempted_at, duration_ms, status_code, error, excerpt, signed_with)
       ON CONFLICT (tenant_id, delivery_id, attempt) DO UPDATE
         SET attempted_at = EXCLUDED.attempted_at, duration_ms = EXCLUDED.duration_ms,
             status_code = EXCLUDED.status_code, error = EXCLUDED.error,
             response_excerpt = EXCLUDED.response_excerpt, signed_with = EXCLUDED.signed_with`,
      [
        tried.map((o) => o.tenantId),
        tried.map((o) => o.id),
        tried.map((o) => o.attempt!.number),
        tried.map((o) => o.attempt!.at.toISOString()),
        tried.map((o) => o.attempt!.durationMs),
        tried.map((o) => o.attempt!.statusCode),
        tried.map((o) => o.error?.slice(0, 2000) ?? null),
        tried.map((o) => o.attempt!.excerpt),
        tried.map((o) => JSON.stringify(o.attempt!.signedWith)),
      ],
    );
  }
  const { rows: updated } = await q.query<{
    tenant_id: string;
    webhook_id: string;
    resource_id: string;
    status: DeliveryStatus;
  }>(
    `WITH locked AS (
       SELECT d.tenant_id, d.id FROM webhook_deliveries d
         JOIN unnest($2::uuid[], $3::uuid[]) AS k(tenant_id, id) ON d.tenant_id = k.tenant_id AND d.id = k.id
        ORDER BY d.tenant_id, d.id
        FOR UPDATE OF d)
     UPDATE webhook_deliveries d
        SET status = CASE WHEN d.status = 'held' AND o.status <> 'succeeded' THEN 'held' ELSE o.status END,
            -- attempts and round_attempts were counted by startAttempts before the request left.
            next_attempt_at = CASE WHEN o.status = 'pending' AND d.status <> 'held' THEN o.next_attempt_at END,
            last_status_code = CASE WHEN o.tried = 1 THEN o.status_code ELSE d.last_status_code END,
            last_error = o.error, locked_by = NULL, locked_until = NULL,
            completed_at = CASE WHEN o.status = 'pending' AND d.status <> 'held' THEN NULL ELSE now() END,
            updated_at = now()
       FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[], $6::int[], $7::int[], $8::text[])
              AS o(tenant_id, id, status, next_attempt_at, tried, status_code, error)
      WHERE d.tenant_id = o.tenant_id AND d.id = o.id AND d.locked_by = $1
        AND (d.tenant_id, d.id) IN (SELECT tenant_id, id FROM locked)
      RETURNING d.tenant_id, d.webhook_id, d.resource_id, d.status`,
    [
      workerId,
      outcomes.map((o) => o.tenantId),
      outcomes.map((o) => o.id),
      outcomes.map((o) => o.status),
      outcomes.map((o) => o.nextAttemptAt?.toISOString() ?? null),
      outcomes.map((o) => (o.attempt ? 1 : 0)),
      outcomes.map((o) => o.attempt?.statusCode ?? null),
      outcomes.map((o) => o.error?.slice(0, 2000) ?? null),
    ],
  );
  const audits: AuditEvent[] = tried.map((o) => ({
    tenantId: o.tenantId,
    actorId: 'system:webhooks',
    action: 'webhook.delivery_attempt',
    resourceType: 'webhook_delivery',
    resourceId: o.id,
    outcome: o.status === 'succeeded' ? 'success' : 'failure',
    status: o.attempt!.statusCode,
    correlationId: o.eventId,
    details: {
      webhook_id: o.webhookId,
      event_id: o.eventId,
      attempt: o.attempt!.number,
      duration_ms: o.attempt!.durationMs,
      error: o.error,
      next: o.status,
    },
  }));
  await appendAuditMany(q, audits);
  await promoteWaiting(
    q,
    updated.filter((u) => u.status !== 'pending'),
  );
}

/**
 * For each (tenant, webhook, resource) key: the earliest waiting delivery becomes pending (due
 * now) once nothing about that resource is pending. Racing promoters target the same row, and the
 * outer status check lets only one of them move it.
 */
export async function promoteWaiting(
  q: Queryable,
  keys: readonly { tenant_id: string; webhook_id: string; resource_id: string }[],
): Promise<number> {
  if (keys.length === 0) return 0;
  const { rowCount } = await q.query(
    `WITH first AS (
        SELECT DISTINCT ON (d.tenant_id, d.webhook_id, d.resource_id) d.tenant_id, d.id
          FROM webhook_deliveries d
          JOIN (SELECT DISTINCT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[]) AS k(tenant_id, webhook_id, resource_id)) k
            ON d.tenant_id = k.tenant_id AND d.webhook_id = k.webhook_id AND d.resource_id = k.resource_id
         WHERE d.status = 'waiting'
           AND NOT EXISTS (
             SELECT 1 FROM webhook_deliveries p
              WHERE p.tenant_id = d.tenant_id AND p.webhook_id = d.webhook_id AND p.resource_id = d.resource_id
                AND p.status = 'pending')
         ORDER BY d.tenant_id, d.webhook_id, d.resource_id, d.event_id),
      locked AS (
        SELECT w.tenant_id, w.id FROM webhook_deliveries w
         WHERE (w.tenant_id, w.id) IN (SELECT tenant_id, id FROM first) AND w.status = 'waiting'
         ORDER BY w.tenant_id, w.id
         FOR UPDATE OF w)
     UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), updated_at = now()
      WHERE status = 'waiting' AND (tenant_id, id) IN (SELECT tenant_id, id FROM locked)`,
    [keys.map((k) => k.tenant_id), keys.map((k) => k.webhook_id), keys.map((k) => k.resource_id)],
  );
  return rowCount;
}

/** Waiting deliveries left with nothing pending ahead of them (a missed promotion): for the sweep. */
export async function strandedWaiting(
  q: Queryable,
  limit: number,
): Promise<{ tenant_id: string; webhook_id: string; resource_id: string }[]> {
  const { rows } = await q.query<{ tenant_id: string; webhook_id: string; resource_id: string }>(
    `SELECT DISTINCT d.tenant_id, d.webhook_id, d.resource_id FROM webhook_deliveries d
      WHERE d.status = 'waiting' AND d.updated_at < now() - interval '30 seconds'
        AND NOT EXISTS (
          SELECT 1 FROM webhook_deliveries p
           WHERE p.tenant_id = d.tenant_id AND p.webhook_id = d.webhook_id AND p.resource_id = d.resource_id
             AND p.status = 'pending')
      LIMIT $1`,
    [limit],
  );
  return rows;
}
