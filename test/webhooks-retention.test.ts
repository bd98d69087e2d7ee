import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { emitEvent } from '../src/events/outbox.js';
import { uuidv7 } from '../src/lib/ids.js';
import { purgeDeliveryBatch, purgeExpired } from '../src/webhooks/retention.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { call, createTestTenant, type TestTenant } from './helpers/tenant.js';

// Retention of the delivery log and the outbox (docs/decisions/0046). Rows are aged by moving
// their timestamps back 40 days; the retention is 30 days.

let receiver: http.Server;
let receiverUrl: string;
let t: TestApp;
let a: TestTenant;

const hourAgo = () => new Date(Date.now() - 3600_000).toISOString();

async function ok(res: { statusCode: number; body: string; json(): unknown }, status = 200) {
  expect(res.statusCode, res.body).toBe(status);
  return res.json() as Record<string, unknown>;
}

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200).end('ok'));
  });
  await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  t = await createTestApp({ HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'true' });
  a = await createTestTenant(t);
  const [rev, appr] = await Promise.all([
    a.client({ roles: ['reviewer'] }),
    a.client({ roles: ['approver'] }),
  ]);
  const base = '/api/v1/integrations';
  const i = await ok(
    await call(t.app, a.admin.token, 'POST', base, {
      integration_name: 'Retention partner',
      partner_name: 'Partner',
      partner_type: 'NGO',
      vertical_ids: [a.verticals.HEALTH],
      active_from: hourAgo(),
    }),
    201,
  );
  const id = i.integration_id as string;
  await ok(
    await call(t.app, a.admin.token, 'POST', `${base}/${id}/request-review`, {
      request_reason_code: 'ROUTINE_REVIEW',
    }),
  );
  await ok(await call(t.app, rev.token, 'POST', `${base}/${id}/review`, { review_notes: 'fine' }));
  await ok(
    await call(t.app, appr.token, 'POST', `${base}/${id}/approve`, {
      approval_reason_code: 'ROUTINE_REVIEW',
    }),
  );
  await ok(await call(t.app, a.admin.token, 'POST', `${base}/${id}/activate`, {}));
  await ok(
    await call(t.app, a.admin.token, 'POST', `${base}/${id}/webhooks`, {
      target_url: `${receiverUrl}/retention`,
      event_types: ['household.updated'],
      active_from: hourAgo(),
    }),
    201,
  );
});
afterAll(async () => {
  await t?.close();
  await new Promise((r) => receiver?.close(r));
});

/** Emits one event per type (each about a fresh resource); returns their ids. */
async function emit(...types: ('household.updated' | 'household.created')[]): Promise<string[]> {
  return t.db.transaction(
    async (tx) => {
      const ids: string[] = [];
      for (const type of types) {
        ids.push(await emitEvent(tx, a.tenantId, { type, resourceType: 'household', resourceId: uuidv7() }));
      }
      return ids;
    },
    { tenantId: a.tenantId },
  );
}

/** Dispatches and delivers until every delivery of this tenant has succeeded. */
async function deliverAll(expected: number) {
  for (let i = 0; i < 200; i++) {
    await t.app.hearth.services.jobs.runPeriodic('events.dispatch');
    await t.app.hearth.services.webhooks.deliverDue({ tenantIds: [a.tenantId] });
    const { rows } = await t.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM webhook_deliveries WHERE tenant_id = $1 AND status = 'succeeded'`,
      [a.tenantId],
    );
    if (rows[0].n >= expected) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('deliveries did not complete');
}

const deliveryOf = async (eventId: string) =>
  (
    await t.db.query<{ id: string }>(
      'SELECT id FROM webhook_deliveries WHERE tenant_id = $1 AND event_id = $2',
      [a.tenantId, eventId],
    )
  ).rows[0]?.id ?? null;

const eventExists = async (eventId: string) =>
  (
    await t.db.query('SELECT 1 FROM outbox_events WHERE tenant_id = $1 AND event_id = $2', [
      a.tenantId,
      eventId,
    ])
  ).rows.length === 1;

const attemptsOf = async (deliveryId: string) =>
  (
    await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM webhook_delivery_attempts WHERE tenant_id = $1 AND delivery_id = $2',
      [a.tenantId, deliveryId],
    )
  ).rows[0].n;

const OLD = `now() - interval '40 days'`;

describe('outbox and delivery retention', () => {
  it('deletes old finished deliveries and old dispatched events; keeps recent, open, undispatched and DCI-pending ones', async () => {
    // Five events with a delivery each, three without (household.created has no subscriber).
    const [dOld, dFailed, dHeld, dRecent, dPending] = await emit(
      'household.updated',
      'household.updated',
      'household.updated',
      'household.updated',
      'household.updated',
    );
    const [nOld, nRecent, nDciPending, nDciDone] = await emit(
      'household.created',
      'household.created',
      'household.created',
      'household.created',
    );
    await deliverAll(5);
    const ids = {
      dOld: (await deliveryOf(dOld))!,
      dFailed: (await deliveryOf(dFailed))!,
      dHeld: (await deliveryOf(dHeld))!,
      dRecent: (await deliveryOf(dRecent))!,
      dPending: (await deliveryOf(dPending))!,
    };
    expect(await attemptsOf(ids.dOld)).toBe(1);
    // One parked event: never dispatched (its consumers kept failing), and old.
    const [parked] = await emit('household.updated');
    await t.db.query(
      `UPDATE outbox_events SET occurred_at = ${OLD}, dispatch_attempts = 1000, dispatch_error = 'bad'
        WHERE tenant_id = $1 AND event_id = $2`,
      [a.tenantId, parked],
    );

    // Age: every event but nRecent dispatched 40 days ago; deliveries finished 40 days ago except
    // dRecent; dPending still open (backing off); dFailed dead-lettered; dHeld held.
    await t.db.query(
      `UPDATE outbox_events SET dispatched_at = ${OLD}
        WHERE tenant_id = $1 AND dispatched_at IS NOT NULL AND event_id <> $2`,
      [a.tenantId, nRecent],
    );
    await t.db.query(
      `UPDATE webhook_deliveries SET completed_at = ${OLD}, created_at = ${OLD},
              status = CASE id WHEN $2::uuid THEN 'failed' WHEN $3::uuid THEN 'held' ELSE status END
        WHERE tenant_id = $1 AND id <> $4`,
      [a.tenantId, ids.dFailed, ids.dHeld, ids.dRecent],
    );
    await t.db.query(
      `UPDATE webhook_deliveries SET status = 'pending', completed_at = NULL, next_attempt_at = now() + interval '1 day'
        WHERE tenant_id = $1 AND id = $2`,
      [a.tenantId, ids.dPending],
    );

    // A DCI notification still to send about nDciPending, one already sent about nDciDone.
    const txn = uuidv7();
    const sub = uuidv7();
    await t.db.query(
      `INSERT INTO dci_transactions (tenant_id, id, client_id, sender_id, kind, mode, transaction_id, correlation_id,
         message_id, status, request)
       VALUES ($1, $2, 'c', 's', 'subscribe', 'async', $3, $3, $3, 'succ', '{}')`,
      [a.tenantId, txn, `t-${txn}`],
    );
    await t.db.query(
      `INSERT INTO dci_subscriptions (tenant_id, id, code, client_id, sender_id, transaction_row, reference_id, event_type,
         filter_type, filter, notify_record_type, criteria, criteria_hash, callback_url, status, ended_at)
       VALUES ($1, $2, $3, 'c', 's', $4, 'r', 'REGISTER', 'predicate', '{}', 'Member', '{}', 'h',
         'http://dci.test/cb', 'unsubscribe', now())`,
      [a.tenantId, sub, `sub-${sub.slice(-12)}`, txn],
    );
    for (const [eventId, status] of [
      [nDciPending, 'pending'],
      [nDciDone, 'succeeded'],
    ]) {
      await t.db.query(
        `INSERT INTO dci_callbacks (tenant_id, id, client_id, action, subscription_id, event_id, message_id, target_url, status)
         VALUES ($1, $2, 'c', 'notify', $3, $4, $6, 'http://dci.test/cb', $5)`,
        [a.tenantId, uuidv7(), sub, eventId, status, `m-${uuidv7()}`],
      );
    }

    // Retention switched off (0): nothing goes.
    expect(await purgeExpired(t.db, { outboxDays: 0, deliveryDays: 0 })).toEqual({
      deliveries: 0,
      attempts: 0,
      events: 0,
      callbacks: 0,
    });
    // Bounded batches: one transaction takes at most `limit` deliveries.
    const one = await purgeDeliveryBatch(t.db, 30, 1);
    expect(one.deliveries).toBe(1);
    // The periodic task (as registered in the app) does the rest.
    await t.app.hearth.services.jobs.runPeriodic('webhooks.retention');
    // And a run with tiny batches finds nothing more of this tenant's.
    await purgeExpired(t.db, { outboxDays: 30, deliveryDays: 30, batchSize: 2 });

    // Deliveries: old succeeded, failed and held ones went, with their attempts.
    for (const [eventId, deliveryId] of [
      [dOld, ids.dOld],
      [dFailed, ids.dFailed],
      [dHeld, ids.dHeld],
    ]) {
      expect(await deliveryOf(eventId)).toBeNull();
      expect(await attemptsOf(deliveryId)).toBe(0);
    }
    expect(await deliveryOf(dRecent)).toBe(ids.dRecent);
    expect(await attemptsOf(ids.dRecent)).toBe(1);
    expect(await deliveryOf(dPending)).toBe(ids.dPending);
    expect(await attemptsOf(ids.dPending)).toBe(1);

    // Events: gone when old, dispatched and needed by nothing.
    const state = Object.fromEntries(
      await Promise.all(
        Object.entries({
          dOld,
          dFailed,
          dHeld,
          dRecent,
          dPending,
          nOld,
          nRecent,
          nDciPending,
          nDciDone,
          parked,
        }).map(async ([k, id]) => [k, await eventExists(id)] as const),
      ),
    );
    expect(state).toEqual({
      dOld: false,
      dFailed: false,
      dHeld: false,
      dRecent: true, // its delivery is recent
      dPending: true, // its delivery is still open
      nOld: false,
      nRecent: true, // dispatched recently
      nDciPending: true, // a DCI notification still has to read it
      nDciDone: false,
      parked: true, // never dispatched
    });
  });

  it('DCI callbacks: finished ones go with their attempts, except the sent REGISTER notes of live subscriptions', async () => {
    const txn = uuidv7();
    await t.db.query(
      `INSERT INTO dci_transactions (tenant_id, id, client_id, sender_id, kind, mode, transaction_id, correlation_id,
         message_id, status, request)
       VALUES ($1, $2, 'c', 's', 'subscribe', 'async', $3, $3, $3, 'succ', '{}')`,
      [a.tenantId, txn, `t-${txn}`],
    );
    const subscription = async (ended: boolean) => {
      const id = uuidv7();
      await t.db.query(
        `INSERT INTO dci_subscriptions (tenant_id, id, code, client_id, sender_id, transaction_row, reference_id, event_type,
           filter_type, filter, notify_record_type, criteria, criteria_hash, callback_url, status, ended_at)
         VALUES ($1, $2, $3, 'c', 's', $4, 'r', 'REGISTER', 'predicate', '{}', 'Member', '{}', $5,
           'http://dci.test/cb', $6, $7)`,
        [
          a.tenantId,
          id,
          `sub-${id.slice(-12)}`,
          txn,
          `h-${id}`,
          ended ? 'unsubscribe' : 'subscribe',
          ended ? new Date() : null,
        ],
      );
      return id;
    };
    const live = await subscription(false);
    const ended = await subscription(true);
    const callback = async (action: string, status: string, daysAgo: number, sub: string | null) => {
      const id = uuidv7();
      await t.db.query(
        `INSERT INTO dci_callbacks (tenant_id, id, client_id, action, transaction_row, subscription_id, event_id,
           person_id, message_id, target_url, status, completed_at)
         VALUES ($1, $2, 'c', $3, $4, $5, $6, $7, $8, 'http://dci.test/cb', $9,
                 CASE WHEN $9 = 'pending' THEN NULL ELSE now() - make_interval(days => $10) END)`,
        [
          a.tenantId,
          id,
          action,
          action === 'notify' ? null : txn,
          sub,
          action === 'notify' ? uuidv7() : null,
          action === 'notify' ? uuidv7() : null,
          `m-${id}`,
          status,
          daysAgo,
        ],
      );
      await t.db.query(
        `INSERT INTO dci_callback_attempts (tenant_id, callback_id, attempt, attempted_at, duration_ms, status_code)
         VALUES ($1, $2, 1, now(), 5, 200)`,
        [a.tenantId, id],
      );
      return id;
    };
    const cb = {
      oldSearch: await callback('on-search', 'succeeded', 40, null),
      oldFailedSearch: await callback('on-search', 'failed', 40, null),
      recentSearch: await callback('on-search', 'succeeded', 2, null),
      liveRegister: await callback('notify', 'succeeded', 40, live),
      liveFailedNotify: await callback('notify', 'failed', 40, live),
      endedRegister: await callback('notify', 'succeeded', 40, ended),
      pendingNotify: await callback('notify', 'pending', 40, live),
    };
    const result = await purgeExpired(t.db, { outboxDays: 0, deliveryDays: 30, batchSize: 2 });
    expect(result.callbacks).toBeGreaterThanOrEqual(3);
    const left = async (id: string) => {
      const { rows } = await t.db.query<{ c: number; a: number }>(
        `SELECT (SELECT count(*)::int FROM dci_callbacks WHERE tenant_id = $1 AND id = $2) AS c,
                (SELECT count(*)::int FROM dci_callback_attempts WHERE tenant_id = $1 AND callback_id = $2) AS a`,
        [a.tenantId, id],
      );
      return rows[0].c + rows[0].a;
    };
    const state = Object.fromEntries(
      await Promise.all(Object.entries(cb).map(async ([k, id]) => [k, await left(id)] as const)),
    );
    expect(state).toEqual({
      oldSearch: 0,
      oldFailedSearch: 0,
      recentSearch: 2, // finished two days ago
      liveRegister: 2, // REGISTER goes out once per person while the subscription lives
      liveFailedNotify: 0,
      endedRegister: 0,
      pendingNotify: 2, // still to send
    });
  });

  it('keeps 30 days by default; 0 keeps forever; negative values are refused', () => {
    expect(loadConfig({}).webhooks).toMatchObject({ outboxRetentionDays: 30, deliveryRetentionDays: 30 });
    expect(
      loadConfig({ HEARTH_OUTBOX_RETENTION_DAYS: '0', HEARTH_WEBHOOK_LOG_RETENTION_DAYS: '7' }).webhooks,
    ).toMatchObject({ outboxRetentionDays: 0, deliveryRetentionDays: 7 });
    expect(() => loadConfig({ HEARTH_OUTBOX_RETENTION_DAYS: '-1' })).toThrow(ConfigError);
    expect(() => loadConfig({ HEARTH_WEBHOOK_LOG_RETENTION_DAYS: 'soon' })).toThrow(ConfigError);
  });
});
