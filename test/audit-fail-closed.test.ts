import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { openPostgres } from '../src/db/open.js';
import { createTestApp, isPostgres, TEST_ROOT, type TestApp, testConfig } from './helpers/app.js';
import { basicOf, G2P } from './helpers/g2p.js';
import { createPerson } from './helpers/registry.js';
import { call, createTestTenant, rootToken, type TestTenant } from './helpers/tenant.js';

/**
 * Audit fails closed: an answer carrying data is not served when its audit event cannot be
 * stored. A trigger refuses the audit rows of requests whose correlation id starts with
 * `auditfail-` (the reading itself works), so only this test's requests are affected.
 */
describe('audit fails closed', () => {
  let t: TestApp;
  let tenant: TestTenant;

  beforeAll(async () => {
    t = await createTestApp();
    tenant = await createTestTenant(t);
    await t.db.exec(`
      CREATE OR REPLACE FUNCTION test_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF NEW.correlation_id LIKE 'auditfail-%' THEN RAISE EXCEPTION 'audit store refused (test)'; END IF;
        RETURN NEW;
      END $$;
      CREATE TRIGGER test_refuse_audit BEFORE INSERT ON audit_events
        FOR EACH ROW EXECUTE FUNCTION test_refuse_audit();`);
  });

  afterAll(async () => {
    await t.db.exec(
      'DROP TRIGGER IF EXISTS test_refuse_audit ON audit_events; DROP FUNCTION IF EXISTS test_refuse_audit()',
    );
    await t.close();
  });

  it('answers 503 problem+json with Retry-After instead of the data, natively', async () => {
    const ok = await call(t.app, tenant.admin.token, 'GET', '/api/v1/persons', undefined, {
      'x-request-id': 'auditok-1',
    });
    expect(ok.statusCode, ok.body).toBe(200);

    const res = await call(t.app, tenant.admin.token, 'GET', '/api/v1/persons', undefined, {
      'x-request-id': 'auditfail-1',
    });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers['content-type']).toContain('application/problem+json');
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.json()).toMatchObject({ code: 'ERR_SYS_UNAVAILABLE', correlation_id: 'auditfail-1' });
    expect(res.body).not.toContain('"data"');
  });

  it('answers 503 in the G2P shape on the G2P face', async () => {
    const person = await createPerson(t.app, tenant.admin.token);
    const res = await t.app.inject({
      method: 'GET',
      url: `${G2P}/individual/${person.person_id}`,
      headers: {
        authorization: basicOf({ clientId: tenant.admin.clientId, secret: tenant.admin.secret }),
        'x-request-id': 'auditfail-2',
      },
    });
    expect(res.statusCode, res.body).toBe(503);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(res.json()).toMatchObject({ error_code: 'G2P-SRV-001', code: 'ERR_SYS_UNAVAILABLE' });
  });

  it('still sends a refusal whose audit event failed (it discloses nothing)', async () => {
    const res = await call(t.app, 'not-a-token', 'GET', '/api/v1/persons', undefined, {
      'x-request-id': 'auditfail-3',
    });
    expect(res.statusCode).toBe(401);
  });
});

describe.skipIf(!isPostgres())('connection pressure', () => {
  it('waits a bounded time for a free connection, then answers 503 with Retry-After', async () => {
    const db = await openPostgres(inject('testDatabaseUrl')!, 1, 200);
    const app = await buildApp({ config: testConfig(), db });
    await app.ready();
    await app.hearth.services.clients.ensureRootClient(TEST_ROOT.id, TEST_ROOT.secret);
    const token = await rootToken(app);
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let holding!: () => void;
    const holds = new Promise<void>((r) => {
      holding = r;
    });
    const holder = db.transaction(async () => {
      holding();
      await held;
    });
    try {
      await holds;
      const res = await call(app, token, 'GET', '/api/v1/tenants');
      expect(res.statusCode, res.body).toBe(503);
      expect(res.headers['retry-after']).toMatch(/^\d+$/);
      expect(res.json().code).toBe('ERR_SYS_UNAVAILABLE');
    } finally {
      release();
      await holder;
    }
    const after = await call(app, token, 'GET', '/api/v1/tenants');
    expect(after.statusCode).toBe(200);
    await app.close();
    await db.close();
  });
});
