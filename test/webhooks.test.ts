import { createPublicKey, type JsonWebKey, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildApp } from '../src/app.js';
import { ConfigError, loadConfig } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { EventDispatcher } from '../src/events/dispatcher.js';
import { emitEvent } from '../src/events/outbox.js';
import { uuidv7 } from '../src/lib/ids.js';
import { retryDelayMs } from '../src/webhooks/delivery.js';
import { postDelivery } from '../src/webhooks/http-client.js';
import { generateSigningKey, openPrivateKey, signatureHeader } from '../src/webhooks/signing.js';
import { createTestApp, type TestApp, testConfig } from './helpers/app.js';
import { createPerson, grantConsent } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, type TestTenant } from './helpers/tenant.js';

// ---- a real receiver on 127.0.0.1 ----

interface Received {
  path: string;
  headers: http.IncomingHttpHeaders;
  body: string;
  answered: number;
}

const received: Received[] = [];
const failures = new Map<string, number>(); // path → how many next requests answer 500
const heldAnswers: http.ServerResponse[] = []; // requests to /held wait here until answered
let holdNext = 0; // how many next requests to /held are held (the others are answered 200)
let receiver: http.Server;
let receiverUrl: string;

function startReceiver(): Promise<void> {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = req.url ?? '/';
      if (path === '/hang') return; // never answers
      if (path === '/held' && holdNext > 0) {
        holdNext--;
        heldAnswers.push(res);
        return;
      }
      if (path === '/big') return res.writeHead(200).end('x'.repeat(200_000));
      if (path === '/redirect') return res.writeHead(302, { location: `${receiverUrl}/one` }).end();
      const left = failures.get(path) ?? 0;
      const answered = left > 0 ? 500 : 200;
      if (left > 0) failures.set(path, left - 1);
      received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), answered });
      res.writeHead(answered, { 'content-type': 'text/plain' }).end(answered === 200 ? 'ok' : 'boom');
    });
  });
  return new Promise((resolve) =>
    receiver.listen(0, '127.0.0.1', () => {
      receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      resolve();
    }),
  );
}

const at = (path: string) => received.filter((r) => r.path === path);

// ---- a standard Ed25519 verifier (Standard Webhooks, v1a), independent of the server's signer ----

function verifyDelivery(
  jwk: JsonWebKey,
  headers: http.IncomingHttpHeaders,
  body: string,
  nowSeconds = Math.floor(Date.now() / 1000),
  toleranceSeconds = 300,
): boolean {
  const id = headers['webhook-id'];
  const ts = headers['webhook-timestamp'];
  const signatures = headers['webhook-signature'];
  if (typeof id !== 'string' || typeof ts !== 'string' || typeof signatures !== 'string') return false;
  if (!/^\d+$/.test(ts) || Math.abs(nowSeconds - Number(ts)) > toleranceSeconds) return false;
  const key = createPublicKey({ key: jwk, format: 'jwk' });
  const content = Buffer.from(`${id}.${ts}.${body}`, 'utf8');
  return signatures.split(' ').some((s) => {
    const [version, sig] = s.split(',');
    return version === 'v1a' && !!sig && verify(null, content, key, Buffer.from(sig, 'base64'));
  });
}

// ---- app, tenants, integrations ----

let t: TestApp;
let app: FastifyInstance;
let db: Database;
let a: TestTenant;
let b: TestTenant;
let reviewer: IssuedTestClient;
let approver: IssuedTestClient;
let registrar: IssuedTestClient;
const hourAgo = () => new Date(Date.now() - 3600_000).toISOString();
const env = { HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'true', HEARTH_WEBHOOK_MAX_ATTEMPTS: '5' };

beforeAll(async () => {
  await startReceiver();
  t = await createTestApp(env);
  app = t.app;
  db = t.db;
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
  [reviewer, approver, registrar] = await Promise.all([
    a.client({ roles: ['reviewer'] }),
    a.client({ roles: ['approver'] }),
    a.client({ roles: ['registrar'] }),
  ]);
});
afterAll(async () => {
  await app?.close();
  await db?.close();
  await new Promise((r) => receiver?.close(r));
});

async function ok(res: { statusCode: number; body: string; json(): unknown }, status = 200) {
  expect(res.statusCode, res.body).toBe(status);
  return res.json() as Record<string, unknown>;
}

/** An active integration of tenant A (separate requester, reviewer and approver). */
async function activeIntegration(target: FastifyInstance = app, tenant = a, rev = reviewer, appr = approver) {
  const base = '/api/v1/integrations';
  const i = await ok(
    await call(target, tenant.admin.token, 'POST', base, {
      integration_name: `Partner ${Math.random().toString(36).slice(2)}`,
      partner_name: 'Partner',
      partner_type: 'NGO',
      vertical_ids: [tenant.verticals.HEALTH],
      active_from: hourAgo(),
    }),
    201,
  );
  const id = i.integration_id as string;
  await ok(
    await call(target, tenant.admin.token, 'POST', `${base}/${id}/request-review`, {
      request_reason_code: 'ROUTINE_REVIEW',
    }),
  );
  await ok(await call(target, rev.token, 'POST', `${base}/${id}/review`, { review_notes: 'fine' }));
  await ok(
    await call(target, appr.token, 'POST', `${base}/${id}/approve`, {
      approval_reason_code: 'ROUTINE_REVIEW',
    }),
  );
  await ok(await call(target, tenant.admin.token, 'POST', `${base}/${id}/activate`, {}));
  return id;
}

const hooks = (integrationId: string) => `/api/v1/integrations/${integrationId}/webhooks`;

async function subscribe(integrationId: string, path: string, types: string[], extra: object = {}) {
  return ok(
    await call(app, a.admin.token, 'POST', hooks(integrationId), {
      target_url: `${receiverUrl}${path}`,
      event_types: types,
      active_from: hourAgo(),
      ...extra,
    }),
    201,
  ) as Promise<Record<string, string>>;
}

/** Dispatches the outbox and sends due deliveries, as the background workers would. */
async function pump(target: FastifyInstance = app) {
  await target.hearth.services.jobs.runPeriodic('events.dispatch');
  await target.hearth.services.jobs.runPeriodic('webhooks.deliver');
}

/** Pumps until `done` holds (other test files may share the PostgreSQL queue). */
async function pumpUntil(done: () => boolean, target: FastifyInstance = app) {
  for (let i = 0; i < 200 && !done(); i++) {
    await pump(target);
    if (!done()) await new Promise((r) => setTimeout(r, 25));
  }
  expect(done()).toBe(true);
}

/** Makes this test file's backing-off deliveries due now. */
async function makeDue() {
  await db.query(
    `UPDATE webhook_deliveries SET next_attempt_at = now() WHERE status = 'pending' AND tenant_id = ANY($1::uuid[])`,
    [[a.tenantId, b.tenantId]],
  );
}

async function deliveries(integrationId: string, webhookId: string) {
  const res = await call(app, a.admin.token, 'GET', `${hooks(integrationId)}/${webhookId}/deliveries`);
  return (await ok(res)).data as unknown as {
    delivery_id: string;
    status: string;
    attempts: number;
    event_id: string;
    next_attempt_at: string | null;
    attempt_log: {
      attempt: number;
      status_code: number | null;
      error: string | null;
      signed_with: string[];
    }[];
  }[];
}

async function jwkOf(kid: string): Promise<JsonWebKey> {
  const res = await app.inject({ method: 'GET', url: `/api/v1/webhook-keys/${kid}` });
  expect(res.statusCode, res.body).toBe(200);
  return res.json();
}

const patchPerson = (personId: string, body: object) =>
  call(app, a.admin.token, 'PATCH', `/api/v1/persons/${personId}`, body);

describe('webhook subscriptions', () => {
  it('creates, lists, gets, patches, rotates and disables, each audited', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/crud', ['person.created']);
    expect(w).toMatchObject({ status: 'active', integration_id: integrationId, contract_id: null });
    expect(w.public_key_id).toMatch(/^whk_/);
    const list = await ok(await call(app, a.admin.token, 'GET', hooks(integrationId)));
    expect((list.data as unknown as { webhook_id: string }[]).map((x) => x.webhook_id)).toEqual([
      w.webhook_id,
    ]);
    const url = `${hooks(integrationId)}/${w.webhook_id}`;
    const patched = await ok(
      await call(app, a.admin.token, 'PATCH', url, { event_types: ['person.created', 'person.updated'] }),
    );
    expect(patched).toMatchObject({ event_types: ['person.created', 'person.updated'], version_id: 2 });
    const rotated = await ok(
      await call(app, a.admin.token, 'POST', `${url}/rotate-secret`, { reason_code: 'ROUTINE_REVIEW' }),
    );
    expect(rotated.public_key_id).not.toBe(w.public_key_id);
    expect(rotated.previous_public_key_id).toBe(w.public_key_id);
    expect(new Date(rotated.previous_key_expires_at as string).getTime()).toBeGreaterThan(Date.now());
    const disabled = await ok(
      await call(app, a.admin.token, 'POST', `${url}/disable`, { reason_code: 'PARTNER_REQUEST' }),
    );
    expect(disabled).toMatchObject({ status: 'disabled' });
    expect(typeof disabled.disabled_at).toBe('string');
    expect(
      (await call(app, a.admin.token, 'POST', `${url}/disable`, { reason_code: 'PARTNER_REQUEST' }))
        .statusCode,
    ).toBe(409);
    expect(
      (await call(app, a.admin.token, 'PATCH', url, { event_types: ['person.created'] })).statusCode,
    ).toBe(409);
    const filtered = await ok(await call(app, a.admin.token, 'GET', `${hooks(integrationId)}?status=active`));
    expect(filtered.data).toEqual([]);
    const { rows } = await db.query<{ action: string }>(
      'SELECT action FROM audit_events WHERE resource_id = $1 ORDER BY seq',
      [w.webhook_id],
    );
    expect(rows.map((r) => r.action)).toEqual(
      expect.arrayContaining([
        'webhook.create',
        'webhook.update',
        'webhook.rotate_secret',
        'webhook.disable',
      ]),
    );
  });

  it('refuses bad calls and writes nothing', async () => {
    const integrationId = await activeIntegration();
    const body = { target_url: `${receiverUrl}/x`, event_types: ['person.created'], active_from: hourAgo() };
    const base = hooks(integrationId);
    expect((await call(app, null, 'POST', base, body)).statusCode).toBe(401);
    expect((await call(app, registrar.token, 'POST', base, body)).statusCode).toBe(403);
    expect((await call(app, registrar.token, 'GET', base)).statusCode).toBe(403);
    expect((await call(app, b.admin.token, 'POST', base, body)).statusCode).toBe(404);
    expect((await call(app, b.admin.token, 'GET', base)).statusCode).toBe(404);
    const bad = [
      { ...body, secret: 'x' },
      { ...body, event_types: ['person.exploded'] },
      { ...body, event_types: [] },
      { ...body, target_url: 'not a url' },
      { ...body, active_until: new Date(Date.now() - 7200_000).toISOString() },
      { ...body, contract_id: '01890000-0000-7000-8000-000000000000' },
      { target_url: body.target_url, event_types: body.event_types },
    ];
    for (const payload of bad) {
      const res = await call(app, a.admin.token, 'POST', base, payload);
      expect(res.statusCode, JSON.stringify(payload)).toBe(422);
    }
    const draft = await ok(
      await call(app, a.admin.token, 'POST', '/api/v1/integrations', {
        integration_name: `Draft ${Math.random()}`,
        partner_name: 'P',
        partner_type: 'NGO',
        vertical_ids: [a.verticals.HEALTH],
        active_from: hourAgo(),
      }),
      201,
    );
    const notActive = await call(app, a.admin.token, 'POST', hooks(draft.integration_id as string), body);
    expect(notActive.statusCode).toBe(409);
    expect((await ok(await call(app, a.admin.token, 'GET', base))).data).toEqual([]);

    const w = await subscribe(integrationId, '/x', ['person.created']);
    const url = `${base}/${w.webhook_id}`;
    expect((await call(app, a.admin.token, 'PATCH', url, {})).statusCode).toBe(422);
    expect(
      (await call(app, b.admin.token, 'PATCH', url, { event_types: ['person.updated'] })).statusCode,
    ).toBe(404);
    expect((await call(app, a.admin.token, 'POST', `${url}/rotate-secret`, {})).statusCode).toBe(422);
    expect(
      (await call(app, a.admin.token, 'POST', `${url}/rotate-secret`, { reason_code: 'OTHER' })).statusCode,
    ).toBe(422);
    expect((await call(app, a.admin.token, 'POST', `${url}/disable`)).statusCode).toBe(422);
    expect((await call(app, b.admin.token, 'GET', `${url}/deliveries`)).statusCode).toBe(404);
    expect((await call(app, a.admin.token, 'GET', `${url}/deliveries?status=lost`)).statusCode).toBe(400);
    const unknownKey = await app.inject({ method: 'GET', url: '/api/v1/webhook-keys/whk_nope' });
    expect(unknownKey.statusCode).toBe(404);
    expect((await ok(await call(app, a.admin.token, 'GET', url))).version_id).toBe(1);
  });

  it('rotates keys older than the rotation period automatically, keeping the old key in its overlap', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/auto', ['person.created']);
    await db.query(
      `UPDATE webhook_keys SET created_at = now() - interval '91 days' WHERE public_key_id = $1`,
      [w.public_key_id],
    );
    expect(await app.hearth.services.webhooks.rotateOldKeys()).toBeGreaterThanOrEqual(1);
    const now = await ok(await call(app, a.admin.token, 'GET', `${hooks(integrationId)}/${w.webhook_id}`));
    expect(now.public_key_id).not.toBe(w.public_key_id);
    expect(typeof now.rotated_at).toBe('string');
    expect(
      (await app.inject({ method: 'GET', url: `/api/v1/webhook-keys/${w.public_key_id}` })).statusCode,
    ).toBe(200);
    const { rows } = await db.query<{ actor_id: string }>(
      `SELECT actor_id FROM audit_events WHERE resource_id = $1 AND action = 'webhook.rotate_secret'`,
      [w.webhook_id],
    );
    expect(rows.map((r) => r.actor_id)).toEqual(['system:webhook-key-rotation']);
  });

  it('keeps private keys out of reach of tenant transactions (row-level security and column grants)', async () => {
    await expect(
      db.transaction((tx) => tx.query('SELECT private_key FROM webhook_keys'), { tenantId: a.tenantId }),
    ).rejects.toThrow();
    const seen = await db.transaction(
      (tx) =>
        tx.query<{ n: number }>('SELECT count(*)::int AS n FROM webhooks WHERE tenant_id = $1', [a.tenantId]),
      { tenantId: b.tenantId },
    );
    expect(seen.rows[0].n).toBe(0);
  });
});

describe('webhook deliveries', () => {
  it('a change produces exactly one signed delivery that verifies with the published key', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/one', ['person.created']);
    const person = await createPerson(app, a.admin.token, { full_name: 'Zawadi Otieno' });
    await pumpUntil(() => at('/one').length >= 1);
    await pump();
    const got = at('/one');
    expect(got).toHaveLength(1);
    const [delivery] = got;
    const payload = JSON.parse(delivery.body);
    expect(payload).toMatchObject({
      type: 'person.created',
      tenant_id: a.tenantId,
      event_id: delivery.headers['webhook-id'],
      data: { resource_type: 'person', resource_id: person.person_id, person_id: person.person_id },
    });
    expect(payload.data.changed_fields).toContain('full_name');
    expect(delivery.body).not.toContain('Zawadi');
    expect(delivery.headers['webhook-signature']).toMatch(/^v1a,[A-Za-z0-9+/=]+$/);

    const jwk = await jwkOf(w.public_key_id);
    expect(jwk).toMatchObject({ kty: 'OKP', crv: 'Ed25519', kid: w.public_key_id });
    expect(verifyDelivery(jwk, delivery.headers, delivery.body)).toBe(true);
    expect(
      verifyDelivery(jwk, delivery.headers, delivery.body.replace('person.created', 'person.archived')),
    ).toBe(false);
    const ts = Number(delivery.headers['webhook-timestamp']);
    expect(verifyDelivery(jwk, delivery.headers, delivery.body, ts + 600)).toBe(false);
    const moved = { ...delivery.headers, 'webhook-timestamp': String(ts - 600) };
    expect(verifyDelivery(jwk, moved, delivery.body, ts - 600)).toBe(false);

    const all = await app.inject({ method: 'GET', url: '/.well-known/webhook-keys.json' });
    expect(all.json().keys.map((k: { kid: string }) => k.kid)).toContain(w.public_key_id);
    const log = await deliveries(integrationId, w.webhook_id);
    expect(log).toHaveLength(1);
    expect(log[0]).toMatchObject({
      status: 'succeeded',
      attempts: 1,
      event_id: delivery.headers['webhook-id'],
    });
    expect(log[0].attempt_log).toMatchObject([{ attempt: 1, status_code: 200, error: null }]);
  });

  it('rotation changes the key; new deliveries verify with the new key (the old one co-signs in the overlap)', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/rot', ['person.created']);
    const url = `${hooks(integrationId)}/${w.webhook_id}/rotate-secret`;
    const rotated = await ok(await call(app, a.admin.token, 'POST', url, { reason_code: 'ROUTINE_REVIEW' }));
    const newKid = rotated.public_key_id as string;
    expect(newKid).not.toBe(w.public_key_id);
    await createPerson(app, a.admin.token);
    await pumpUntil(() => at('/rot').length >= 1);
    const [d] = at('/rot');
    expect(verifyDelivery(await jwkOf(newKid), d.headers, d.body)).toBe(true);
    expect(verifyDelivery(await jwkOf(w.public_key_id), d.headers, d.body)).toBe(true);
    expect((d.headers['webhook-signature'] as string).split(' ')).toHaveLength(2);

    // After a security incident the replaced key is withdrawn at once.
    const again = await ok(await call(app, a.admin.token, 'POST', url, { reason_code: 'SECURITY_INCIDENT' }));
    const gone = await app.inject({ method: 'GET', url: `/api/v1/webhook-keys/${newKid}` });
    expect(gone.statusCode).toBe(404);
    await createPerson(app, a.admin.token);
    await pumpUntil(() => at('/rot').length >= 2);
    const second = at('/rot')[1];
    expect((second.headers['webhook-signature'] as string).split(' ')).toHaveLength(1);
    const original = await app.inject({ method: 'GET', url: `/api/v1/webhook-keys/${w.public_key_id}` });
    expect(original.statusCode).toBe(404);
    expect(verifyDelivery(await jwkOf(again.public_key_id as string), second.headers, second.body)).toBe(
      true,
    );
  });

  it('counts an attempt and logs it before its request leaves (a worker killed meanwhile leaves it counted)', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/held', ['person.created']);
    holdNext = 1;
    await createPerson(app, a.admin.token);
    await app.hearth.services.jobs.runPeriodic('events.dispatch');
    const sweep = app.hearth.services.jobs.runPeriodic('webhooks.deliver');
    for (let i = 0; i < 400 && heldAnswers.length === 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(heldAnswers).toHaveLength(1);
    // The receiver has the request and has not answered: the attempt is already counted.
    let [d] = await deliveries(integrationId, w.webhook_id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1 });
    expect(d.attempt_log).toHaveLength(1);
    expect(d.attempt_log[0]).toMatchObject({ attempt: 1, status_code: null });
    heldAnswers.shift()!.writeHead(200).end('ok');
    await sweep;
    [d] = await deliveries(integrationId, w.webhook_id);
    expect(d).toMatchObject({ status: 'succeeded', attempts: 1 });
    expect(d.attempt_log.map((x) => [x.attempt, x.status_code])).toEqual([[1, 200]]);
  });

  it('a receiver that fails twice then succeeds gets the event on the third attempt', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/flaky', ['person.created']);
    failures.set('/flaky', 2);
    await createPerson(app, a.admin.token);
    await pumpUntil(() => at('/flaky').length >= 1);
    let [d] = await deliveries(integrationId, w.webhook_id);
    expect(d).toMatchObject({ status: 'pending', attempts: 1 });
    expect(new Date(d.next_attempt_at!).getTime()).toBeGreaterThan(Date.now());
    await pump();
    expect(at('/flaky')).toHaveLength(1); // backing off, not due yet
    await makeDue();
    await pumpUntil(() => at('/flaky').length >= 2);
    await makeDue();
    await pumpUntil(() => at('/flaky').length >= 3);
    const got = at('/flaky');
    expect(got.map((r) => r.answered)).toEqual([500, 500, 200]);
    expect(new Set(got.map((r) => r.headers['webhook-id'])).size).toBe(1);
    [d] = await deliveries(integrationId, w.webhook_id);
    expect(d).toMatchObject({ status: 'succeeded', attempts: 3 });
    expect(d.attempt_log.map((x) => x.status_code)).toEqual([500, 500, 200]);
    expect(verifyDelivery(await jwkOf(w.public_key_id), got[2].headers, got[2].body)).toBe(true);
  });

  it('dead-letters a delivery after the last attempt; redelivery starts a fresh round', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/dead', ['person.created']);
    failures.set('/dead', 100);
    await createPerson(app, a.admin.token);
    await pumpUntil(() => at('/dead').length >= 1);
    for (let n = 2; n <= 5; n++) {
      await makeDue();
      await pumpUntil(() => at('/dead').length >= n);
    }
    let [d] = await deliveries(integrationId, w.webhook_id);
    expect(d).toMatchObject({ status: 'failed', attempts: 5, next_attempt_at: null });
    await makeDue();
    await pump();
    expect(at('/dead')).toHaveLength(5);
    failures.set('/dead', 0);
    const url = `${hooks(integrationId)}/${w.webhook_id}/deliveries/${d.delivery_id}/redeliver`;
    expect((await call(app, a.admin.token, 'POST', url, {})).statusCode).toBe(202);
    await pumpUntil(() => at('/dead').length >= 6);
    [d] = await deliveries(integrationId, w.webhook_id);
    expect(d).toMatchObject({ status: 'succeeded', attempts: 6 });
  });

  it('a delivery claimed by a worker that died is sent once its lock expires', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/lock', ['person.created']);
    failures.set('/lock', 1);
    await createPerson(app, a.admin.token);
    await pumpUntil(() => at('/lock').length >= 1);
    // Another worker claimed the retry and died: its lock holds the delivery until it expires.
    const lock = (until: string) =>
      db.query(
        `UPDATE webhook_deliveries SET next_attempt_at = now(), locked_by = 'dead-worker',
                locked_until = now() + $2::interval
          WHERE tenant_id = $1 AND webhook_id = $3`,
        [a.tenantId, until, w.webhook_id],
      );
    await lock('1 hour');
    await pump();
    expect(at('/lock')).toHaveLength(1);
    await lock('-1 second');
    await pumpUntil(() => at('/lock').length >= 2);
    expect((await deliveries(integrationId, w.webhook_id))[0]).toMatchObject({
      status: 'succeeded',
      attempts: 2,
    });
  });

  it('keeps per-resource order: a later change waits for the earlier delivery', async () => {
    const integrationId = await activeIntegration();
    const person = await createPerson(app, a.admin.token);
    await subscribe(integrationId, '/order', ['person.updated']);
    failures.set('/order', 1);
    expect((await patchPerson(person.person_id, { given_name: 'One' })).statusCode).toBe(200);
    expect((await patchPerson(person.person_id, { given_name: 'Two' })).statusCode).toBe(200);
    await pumpUntil(() => at('/order').length >= 1);
    await pump();
    expect(at('/order')).toHaveLength(1); // the second waits behind the first
    await makeDue();
    await pumpUntil(() => at('/order').length >= 3);
    const ids = at('/order').map((r) => r.headers['webhook-id']);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).not.toBe(ids[1]);
    expect(String(ids[1]) < String(ids[2])).toBe(true);
  });

  it('a rolled-back change emits nothing', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/rollback', ['person.updated']);
    const person = await createPerson(app, a.admin.token);
    await expect(
      db.transaction(
        async (tx) => {
          await emitEvent(tx, a.tenantId, {
            type: 'person.updated',
            resourceType: 'person',
            resourceId: person.person_id,
            personId: person.person_id,
            changedFields: ['given_name'],
          });
          throw new Error('rolled back');
        },
        { tenantId: a.tenantId },
      ),
    ).rejects.toThrow('rolled back');
    const stale = await patchPerson(person.person_id, { given_name: 'X' });
    expect(stale.statusCode).toBe(200);
    const conflict = await call(
      app,
      a.admin.token,
      'PATCH',
      `/api/v1/persons/${person.person_id}`,
      { given_name: 'Y' },
      { 'if-match': '"1"' },
    );
    expect(conflict.statusCode).toBeGreaterThanOrEqual(400);
    await pumpUntil(() => at('/rollback').length >= 1);
    await pump();
    expect(at('/rollback')).toHaveLength(1); // only the committed change
    expect(await deliveries(integrationId, w.webhook_id)).toHaveLength(1);
  });

  it('a disabled webhook gets nothing; what was pending is held, not sent', async () => {
    const integrationId = await activeIntegration();
    const off = await subscribe(integrationId, '/off', ['person.created']);
    await ok(
      await call(app, a.admin.token, 'POST', `${hooks(integrationId)}/${off.webhook_id}/disable`, {
        reason_code: 'PARTNER_REQUEST',
      }),
    );
    const busy = await subscribe(integrationId, '/busy', ['person.created']);
    failures.set('/busy', 1);
    await createPerson(app, a.admin.token);
    await pumpUntil(() => at('/busy').length >= 1);
    await ok(
      await call(app, a.admin.token, 'POST', `${hooks(integrationId)}/${busy.webhook_id}/disable`, {
        reason_code: 'PARTNER_REQUEST',
      }),
    );
    await makeDue();
    await pump();
    expect(at('/off')).toHaveLength(0);
    expect(at('/busy')).toHaveLength(1);
    expect(await deliveries(integrationId, off.webhook_id)).toEqual([]);
    const [held] = await deliveries(integrationId, busy.webhook_id);
    expect(held).toMatchObject({ status: 'held', attempts: 1 });
    const redeliver = await call(
      app,
      a.admin.token,
      'POST',
      `${hooks(integrationId)}/${busy.webhook_id}/deliveries/${held.delivery_id}/redeliver`,
      {},
    );
    expect(redeliver.statusCode).toBe(409);
  });

  it('a suspended integration’s webhooks deliver nothing; redelivery resends a finished delivery', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/susp', ['person.created']);
    await createPerson(app, a.admin.token);
    await pumpUntil(() => at('/susp').length >= 1);
    const [done] = await deliveries(integrationId, w.webhook_id);
    const again = await call(
      app,
      a.admin.token,
      'POST',
      `${hooks(integrationId)}/${w.webhook_id}/deliveries/${done.delivery_id}/redeliver`,
      {},
    );
    expect(again.statusCode, again.body).toBe(202);
    await pumpUntil(() => at('/susp').length >= 2);
    expect(at('/susp')[1].headers['webhook-id']).toBe(at('/susp')[0].headers['webhook-id']);
    await ok(
      await call(app, a.admin.token, 'POST', `/api/v1/integrations/${integrationId}/suspend`, {
        reason_code: 'PARTNER_REQUEST',
      }),
    );
    await createPerson(app, a.admin.token);
    await pump();
    await pump();
    expect(at('/susp')).toHaveLength(2);
    expect(await deliveries(integrationId, w.webhook_id)).toHaveLength(1);
  });

  it('sends contract fields only for a person whose consent allows it at delivery time', async () => {
    const integrationId = await activeIntegration();
    const base = `/api/v1/integrations/${integrationId}/contracts`;
    const contract = await ok(
      await call(app, a.admin.token, 'POST', base, {
        purpose: 'Case follow-up',
        data_categories: ['person'],
        field_list: ['given_name', 'date_of_birth', 'contacts'],
        consent_requirements: { vertical_ids: [a.verticals.HEALTH] },
        active_from: hourAgo(),
      }),
      201,
    );
    await ok(await call(app, a.admin.token, 'POST', `${base}/${contract.contract_id}/activate`, {}));
    await subscribe(integrationId, '/consent', ['person.updated'], { contract_id: contract.contract_id });
    const without = await createPerson(app, a.admin.token, {
      contacts: [{ type: 'phone', value: '+254700000001', primary: true }],
    });
    const withConsent = await createPerson(app, a.admin.token, {
      contacts: [{ type: 'phone', value: '+254700000002', primary: true }],
    });
    await grantConsent(app, a.admin.token, withConsent.person_id, a.verticals.HEALTH);
    expect((await patchPerson(without.person_id, { given_name: 'Hidden' })).statusCode).toBe(200);
    expect((await patchPerson(withConsent.person_id, { given_name: 'Shown' })).statusCode).toBe(200);
    await pumpUntil(() => at('/consent').length >= 2);
    const bodies = at('/consent').map((r) => JSON.parse(r.body));
    const plain = bodies.find((p) => p.data.person_id === without.person_id);
    const rich = bodies.find((p) => p.data.person_id === withConsent.person_id);
    expect(plain.data.person).toBeUndefined();
    expect(JSON.stringify(plain)).not.toContain('Hidden');
    expect(JSON.stringify(plain)).not.toContain('254700000001');
    expect(rich.data.person).toMatchObject({ person_id: withConsent.person_id, given_name: 'Shown' });
    expect(rich.data.person.date_of_birth).toBe('1990-04-12');
    // The contract names contacts: they leave as they are (decision 0012).
    expect(JSON.stringify(rich.data.person.contacts)).toContain('254700000002');
    expect(rich.data.masked_fields).not.toContain('contacts');
  });

  it('sends no personal fields while a consent is only in its grace period', async () => {
    const integrationId = await activeIntegration();
    const base = `/api/v1/integrations/${integrationId}/contracts`;
    const contract = await ok(
      await call(app, a.admin.token, 'POST', base, {
        purpose: 'Grace follow-up',
        data_categories: ['person'],
        field_list: ['given_name', 'date_of_birth'],
        consent_requirements: { vertical_ids: [a.verticals.HEALTH] },
        active_from: hourAgo(),
      }),
      201,
    );
    await ok(await call(app, a.admin.token, 'POST', `${base}/${contract.contract_id}/activate`, {}));
    await subscribe(integrationId, '/grace', ['person.updated'], { contract_id: contract.contract_id });
    const person = await createPerson(app, a.admin.token);
    const consent = await grantConsent(app, a.admin.token, person.person_id, a.verticals.HEALTH);
    expect((await patchPerson(person.person_id, { given_name: 'Consented' })).statusCode).toBe(200);
    await pumpUntil(() => at('/grace').length >= 1);
    expect(JSON.parse(at('/grace')[0].body).data.person).toMatchObject({ given_name: 'Consented' });

    const expired = await ok(
      await call(app, a.admin.token, 'POST', `/api/v1/consents/${consent.consent_id}/expire`, {}),
    );
    expect(expired.status).toBe('expired');
    expect(Date.parse(String(expired.grace_until))).toBeGreaterThan(Date.now());
    expect((await patchPerson(person.person_id, { given_name: 'InGrace' })).statusCode).toBe(200);
    await pumpUntil(() => at('/grace').length >= 2);
    const during = JSON.parse(at('/grace')[1].body);
    expect(during.data.person_id).toBe(person.person_id);
    expect(during.data.person).toBeUndefined();
    expect(at('/grace')[1].body).not.toContain('InGrace');
  });
});

describe('webhook targets (SSRF)', () => {
  it('refuses http, loopback, private, link-local and credentialed targets without the insecure flag', async () => {
    const t2 = await createTestApp();
    try {
      const c = await createTestTenant(t2);
      const [rev, appr] = await Promise.all([
        c.client({ roles: ['reviewer'] }),
        c.client({ roles: ['approver'] }),
      ]);
      const integrationId = await activeIntegration(t2.app, c, rev, appr);
      for (const target of [
        'http://example.org/hook',
        'https://127.0.0.1/hook',
        'https://0x7f.1/hook',
        'https://[::1]/hook',
        'https://[::ffff:127.0.0.1]/hook',
        'https://169.254.169.254/latest/meta-data',
        'https://10.1.2.3/hook',
        'https://192.168.1.1/hook',
        'https://localhost/hook',
        'https://metadata/hook',
        'https://user:pw@example.org/hook',
      ]) {
        const res = await call(t2.app, c.admin.token, 'POST', hooks(integrationId), {
          target_url: target,
          event_types: ['person.created'],
          active_from: hourAgo(),
        });
        expect(res.statusCode, target).toBe(422);
        expect(res.json().errors[0].field).toBe('target_url');
      }
      expect((await ok(await call(t2.app, c.admin.token, 'GET', hooks(integrationId)))).data).toEqual([]);
    } finally {
      await t2.close();
    }
  });

  it('checks the target again at delivery time: an app without the flag refuses a loopback target', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/ssrf', ['person.created']);
    await createPerson(app, a.admin.token);
    const strict = await buildApp({ config: testConfig(), db });
    await strict.ready();
    try {
      for (let i = 0; i < 50; i++) {
        await pump(strict);
        const [d] = await deliveries(integrationId, w.webhook_id);
        if (d?.attempts) break;
      }
    } finally {
      await strict.close();
    }
    expect(at('/ssrf')).toHaveLength(0);
    const [d] = await deliveries(integrationId, w.webhook_id);
    expect(d.attempt_log[0].error).toMatch(/target refused/);
    expect(d.attempt_log[0].status_code).toBeNull();
    await ok(
      await call(app, a.admin.token, 'POST', `${hooks(integrationId)}/${w.webhook_id}/disable`, {
        reason_code: 'PARTNER_REQUEST',
      }),
    );
  });
});

describe('outbox dispatcher', () => {
  it('hands committed events to consumers in order; a failing event is retried later, the rest go on', async () => {
    const c = await createTestTenant(t);
    const ids = [uuidv7(), uuidv7(), uuidv7()];
    await db.transaction(
      async (tx) => {
        for (const id of ids) {
          await emitEvent(tx, c.tenantId, {
            type: 'household.updated',
            resourceType: 'household',
            resourceId: id,
          });
        }
      },
      { tenantId: c.tenantId },
    );
    const seen: string[] = [];
    let failing = true;
    const dispatcher = new EventDispatcher(db, null, { tenantIds: [c.tenantId], batchSize: 10 });
    dispatcher.registerConsumer('test', async (_tx, events) => {
      if (failing && events.some((e) => e.resource_id === ids[1])) throw new Error('bad event');
      seen.push(...events.map((e) => e.resource_id));
    });
    expect(() => dispatcher.registerConsumer('test', async () => {})).toThrow();
    expect(await dispatcher.dispatchPending()).toBe(2);
    expect(seen).toEqual([ids[0], ids[2]]);
    const state = async () =>
      (
        await db.query<{
          resource_id: string;
          dispatched: boolean;
          dispatch_attempts: number;
          dispatch_error: string | null;
        }>(
          `SELECT resource_id, dispatched_at IS NOT NULL AS dispatched, dispatch_attempts, dispatch_error
             FROM outbox_events WHERE tenant_id = $1 ORDER BY event_id`,
          [c.tenantId],
        )
      ).rows;
    expect((await state())[1]).toMatchObject({
      dispatched: false,
      dispatch_attempts: 1,
      dispatch_error: 'bad event',
    });
    expect(await dispatcher.dispatchPending()).toBe(0); // backing off
    failing = false;
    await db.query('UPDATE outbox_events SET dispatch_after = now() WHERE tenant_id = $1', [c.tenantId]);
    expect(await dispatcher.dispatchPending()).toBe(1);
    expect(seen).toEqual([ids[0], ids[2], ids[1]]);
    expect((await state()).every((r) => r.dispatched)).toBe(true);
  });

  it('events about an integration reach only that integration’s webhooks', async () => {
    const x = await activeIntegration();
    const y = await activeIntegration();
    await subscribe(x, '/istatus-x', ['integration.status_changed']);
    await subscribe(y, '/istatus-y', ['integration.status_changed']);
    await ok(
      await call(app, a.admin.token, 'POST', `/api/v1/integrations/${y}/restrict`, {
        reason_code: 'PARTNER_REQUEST',
      }),
    );
    await pumpUntil(() => at('/istatus-y').length >= 1);
    await pump();
    expect(at('/istatus-x')).toHaveLength(0);
    const body = JSON.parse(at('/istatus-y')[0].body);
    expect(body).toMatchObject({
      type: 'integration.status_changed',
      data: { resource_id: y, details: { to: 'restricted' } },
    });
  });
});

describe('delivery mechanics', () => {
  it('retries back off exponentially with jitter over more than 24 hours by default', () => {
    const defaults = loadConfig({}).webhooks;
    expect(defaults).toMatchObject({ retryBaseMs: 10_000, maxAttempts: 15, allowInsecureTargets: false });
    const spy = vi.spyOn(Math, 'random');
    try {
      spy.mockReturnValue(0);
      let shortest = 0;
      for (let n = 1; n < defaults.maxAttempts; n++) shortest += retryDelayMs(n, defaults.retryBaseMs);
      expect(shortest).toBeGreaterThan(24 * 3600_000);
      expect(retryDelayMs(1, 10_000)).toBe(8_000);
      spy.mockReturnValue(0.999);
      expect(retryDelayMs(2, 10_000)).toBeLessThanOrEqual(24_000);
      expect(retryDelayMs(40, 10_000)).toBeLessThanOrEqual(12 * 3600_000 * 1.2);
    } finally {
      spy.mockRestore();
    }
    expect(() => loadConfig({ HEARTH_WEBHOOK_KEY_SECRET: 'short' })).toThrow(ConfigError);
    expect(() => loadConfig({ HEARTH_WEBHOOK_MAX_ATTEMPTS: '0' })).toThrow(ConfigError);
  });

  it('each attempt has a timeout and reads at most the configured answer size', async () => {
    const hung = await postDelivery(`${receiverUrl}/hang`, {}, '{}', { timeoutMs: 200, maxBytes: 1000 });
    expect(hung).toMatchObject({ statusCode: null, error: 'timed out' });
    const big = await postDelivery(`${receiverUrl}/big`, {}, '{}', { timeoutMs: 5000, maxBytes: 4096 });
    expect(big.statusCode).toBe(200);
    expect(big.excerpt?.length).toBe(1024);
    const refused = await postDelivery('http://127.0.0.1:1/', {}, '{}', { timeoutMs: 2000, maxBytes: 10 });
    expect(refused.statusCode).toBeNull();
    expect(refused.error).toBeTruthy();
    // Redirects are not followed (they could lead inward): a 3xx is a failed attempt.
    const before = at('/one').length;
    const moved = await postDelivery(`${receiverUrl}/redirect`, {}, '{}', { timeoutMs: 2000, maxBytes: 10 });
    expect(moved).toMatchObject({ statusCode: 302, error: 'receiver answered 302' });
    expect(at('/one')).toHaveLength(before);
  });

  it('private keys can be sealed at rest and still sign for the published key', () => {
    const secret = Buffer.alloc(32, 7);
    const key = generateSigningKey(secret);
    expect(key.storedPrivateKey.startsWith('enc1:')).toBe(true);
    const header = signatureHeader(
      [openPrivateKey(key.storedPrivateKey, secret, key.publicKeyId)],
      'msg_1',
      1700000000,
      '{}',
    );
    expect(
      verifyDelivery(
        key.publicJwk as unknown as JsonWebKey,
        { 'webhook-id': 'msg_1', 'webhook-timestamp': '1700000000', 'webhook-signature': header },
        '{}',
        1700000000,
      ),
    ).toBe(true);
    expect(() => openPrivateKey(key.storedPrivateKey, Buffer.alloc(32, 8), key.publicKeyId)).toThrow();
    expect(() => openPrivateKey(key.storedPrivateKey, null, key.publicKeyId)).toThrow();
    expect(() => openPrivateKey(key.storedPrivateKey, secret, 'whk_other')).toThrow();
  });
});

describe('webhook restarts', () => {
  it('a restart in the middle of a backoff loses no event', async () => {
    const integrationId = await activeIntegration();
    const w = await subscribe(integrationId, '/restart', ['person.created']);
    failures.set('/restart', 1);
    await createPerson(app, a.admin.token);
    await pumpUntil(() => at('/restart').length >= 1);
    expect((await deliveries(integrationId, w.webhook_id))[0]).toMatchObject({
      status: 'pending',
      attempts: 1,
    });
    await app.close();
    app = await buildApp({ config: testConfig(env), db });
    await app.ready();
    await makeDue();
    await pumpUntil(() => at('/restart').length >= 2);
    await pump();
    expect(at('/restart').map((r) => r.answered)).toEqual([500, 200]);
    expect((await deliveries(integrationId, w.webhook_id))[0]).toMatchObject({
      status: 'succeeded',
      attempts: 2,
    });
  });
});
