import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { openTestDatabase, TEST_ROOT, type TestApp, testConfig } from './helpers/app.js';
import { createTestTenant, rootToken } from './helpers/tenant.js';

/** Request logs an operator can use: who (tenant, client), which route template — never identifier values. */
const lines: Record<string, unknown>[] = [];
let t: TestApp;

beforeAll(async () => {
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const line of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const db = await openTestDatabase();
  const config = testConfig();
  const app = await buildApp({ config, db, logger: pino({ level: 'info' }, stream) });
  await app.ready();
  await app.hearth.services.clients.ensureRootClient(TEST_ROOT.id, TEST_ROOT.secret);
  t = {
    app,
    db,
    config,
    async close() {
      await app.close();
      await db.close();
    },
  };
});
afterAll(async () => t?.close());

describe('request logs', () => {
  it('name the route template, the tenant and the client, and never the identifier in the path', async () => {
    const tenant = await createTestTenant(t);
    const id = 'urn:gov:national_id|19840101-1234';
    const res = await t.app.inject({
      method: 'GET',
      url: `/api/v2/spp/Individual/${encodeURIComponent(id)}?name=Secret`,
      headers: { authorization: `Bearer ${tenant.admin.token}` },
    });
    expect(res.statusCode).toBeLessThan(500);
    const all = JSON.stringify(lines);
    expect(all).not.toContain('19840101-1234');
    expect(all).not.toContain('Secret');
    const line = lines.find((l) => l.msg === 'request completed' && String(l.route).includes('/Individual/'));
    expect(line).toMatchObject({
      method: 'GET',
      route: '/api/v2/spp/Individual/:identifier',
      status: res.statusCode,
      tenant_id: tenant.tenantId,
      client_id: tenant.admin.clientId,
    });
    expect(line?.reqId).toBe(res.headers['x-request-id']);
  });
});

describe('metrics', () => {
  it('carry domain gauges and counts authentication failures, for ROOT only', async () => {
    const bad = await t.app.inject({
      method: 'GET',
      url: '/api/v1/persons',
      headers: { authorization: 'Bearer nope' },
    });
    expect(bad.statusCode).toBe(401);
    const tenant = await createTestTenant(t);
    const denied = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${tenant.admin.token}` },
    });
    expect(denied.statusCode).toBe(403);
    const res = await t.app.inject({
      method: 'GET',
      url: '/metrics',
      headers: { authorization: `Bearer ${await rootToken(t.app)}` },
    });
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/hearth_auth_failures_total\{route="\/api\/v1\/persons"\} [1-9]/);
    expect(res.body).toMatch(/hearth_outbox_lag_seconds \d/);
    expect(res.body).toContain('# TYPE hearth_jobs gauge');
    expect(res.body).toContain('# TYPE hearth_webhook_deliveries_open gauge');
    // Pool size and waits (issue 17): on PostgreSQL the pool has handed out connections by now.
    expect(res.body).toMatch(/hearth_db_pool_connections\{state="max"\} [1-9]/);
    expect(res.body).toMatch(/hearth_db_pool_wait_seconds_total \d/);
    expect(res.body).toMatch(/hearth_db_pool_wait_timeouts_total 0/);
    if (t.db.kind === 'postgres') expect(res.body).toMatch(/hearth_db_pool_acquired_total [1-9]/);
  });
});
