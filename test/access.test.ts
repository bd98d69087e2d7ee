import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../src/audit/audit.js';
import { createTestApp, isPostgres, type TestApp } from './helpers/app.js';
import { call, createTestTenant, rootToken, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;
beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
});
afterAll(() => t?.close());

/** A concrete URL for a route pattern: every path parameter gets a well-formed id. */
function concrete(url: string): string {
  return url.replace(/:([a-z_]+)/g, (_m, name: string) =>
    name === 'client_id' ? 'hc_nonexistent' : '00000000-0000-4000-8000-000000000001',
  );
}

describe('route walk', () => {
  it('every non-public route refuses a request without a token', async () => {
    const routes = t.app.hearth.routes.filter((r) => !r.auth || !('public' in r.auth && r.auth.public));
    expect(routes.length).toBeGreaterThan(10);
    for (const r of routes) {
      const res = await t.app.inject({
        method: r.method as 'GET',
        url: concrete(r.url),
        payload: r.method === 'GET' ? undefined : {},
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(401);
    }
  });

  it('every route with a scope or role refuses a token without it', async () => {
    const nobody = await a.client({ roles: ['approver'], scopes: ['vocabulary:read'] });
    for (const r of t.app.hearth.routes) {
      if (!r.auth || ('public' in r.auth && r.auth.public)) continue;
      const needs = [...(r.auth.scopes ?? [])].filter((s) => s !== 'vocabulary:read');
      const roles = r.auth.roles ?? [];
      if (needs.length === 0 && roles.length === 0) continue;
      const res = await t.app.inject({
        method: r.method as 'GET',
        url: concrete(r.url),
        headers: { authorization: `Bearer ${nobody.token}` },
        payload: r.method === 'GET' ? undefined : {},
      });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
      expect(res.json().code).toBe('ERR_SEC_FORBIDDEN');
    }
  });

  it('a missing scope is named', async () => {
    const c = await a.client({ roles: ['registrar'] });
    const res = await call(t.app, c.token, 'GET', '/api/v1/audit-events');
    expect(res.statusCode).toBe(403);
    expect(res.json().detail).toContain('audit:read');
  });
});

describe('tenant isolation', () => {
  it("another tenant's client id answers like a missing one", async () => {
    const bc = await b.client({ roles: ['auditor'] });
    for (const action of ['', '/rotate-secret', '/deactivate']) {
      const method = action ? 'POST' : 'GET';
      const other = await call(t.app, a.admin.token, method, `/api/v1/clients/${bc.clientId}${action}`);
      const missing = await call(t.app, a.admin.token, method, `/api/v1/clients/hc_missing${action}`);
      expect(other.statusCode).toBe(404);
      expect(other.json().detail).toBe(missing.json().detail);
    }
    const list = await call(t.app, a.admin.token, 'GET', '/api/v1/clients?limit=200');
    expect(list.json().data.map((c: { client_id: string }) => c.client_id)).not.toContain(bc.clientId);
    expect(list.json().data.every((c: { tenant_id: string }) => c.tenant_id === a.tenantId)).toBe(true);
  });

  it('X-Tenant-Id of another tenant is refused for non-ROOT', async () => {
    const res = await call(t.app, a.admin.token, 'GET', '/api/v1/verticals', undefined, {
      'x-tenant-id': b.tenantId,
    });
    expect(res.statusCode).toBe(403);
  });

  it('ROOT reads a tenant through X-Tenant-Id', async () => {
    const root = await rootToken(t.app);
    const res = await call(t.app, root, 'GET', '/api/v1/verticals', undefined, { 'x-tenant-id': b.tenantId });
    expect(res.statusCode).toBe(200);
    const without = await call(t.app, root, 'GET', '/api/v1/verticals');
    expect(without.statusCode).toBe(400);
  });

  it('row-level security limits a query that forgets its tenant filter', async () => {
    const rows = await t.db.transaction(
      async (tx) => (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM verticals')).rows,
      { tenantId: a.tenantId },
    );
    expect(rows.length).toBeGreaterThanOrEqual(5);
    expect(new Set(rows.map((r) => r.tenant_id))).toEqual(new Set([a.tenantId]));
    const clients = await t.db.transaction(
      async (tx) => (await tx.query<{ tenant_id: string }>('SELECT tenant_id FROM api_clients')).rows,
      { tenantId: b.tenantId },
    );
    expect(new Set(clients.map((r) => r.tenant_id))).toEqual(new Set([b.tenantId]));
    await expect(
      t.db.transaction(
        (tx) =>
          tx.query(
            "INSERT INTO verticals (tenant_id, id, code, name) VALUES ($1, gen_random_uuid(), 'SNEAK', 'x')",
            [b.tenantId],
          ),
        { tenantId: a.tenantId },
      ),
    ).rejects.toThrow(/row-level security/);
  });
});

describe('rate limits', () => {
  it('429 with Retry-After and RateLimit headers after the client limit', async () => {
    const c = await a.client({ roles: ['auditor'], rate_limit_per_minute: 3 });
    for (let i = 0; i < 3; i++) {
      const ok = await call(t.app, c.token, 'GET', '/api/v1/verticals');
      expect(ok.statusCode).toBe(200);
      expect(ok.headers['ratelimit-limit']).toBe('3');
      expect(ok.headers['ratelimit-remaining']).toBe(String(2 - i));
    }
    const res = await call(t.app, c.token, 'GET', '/api/v1/verticals');
    expect(res.statusCode).toBe(429);
    expect(res.json().code).toBe('ERR_RATE_LIMITED');
    expect(Number(res.headers['retry-after'])).toBeGreaterThan(0);
    expect(res.headers['ratelimit-remaining']).toBe('0');
  });

  it('the token endpoint is limited per client id', async () => {
    const small = await createTestApp({ HEARTH_TOKEN_RATE_LIMIT_PER_MINUTE: '2' });
    try {
      // Unique id and address: with Redis the counters outlive the test app.
      const payload = {
        grant_type: 'client_credentials',
        client_id: `nobody-${Date.now()}`,
        client_secret: 'x',
      };
      const remoteAddress = `10.9.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
      const codes: number[] = [];
      for (let i = 0; i < 3; i++) {
        codes.push(
          (await small.app.inject({ method: 'POST', url: '/oauth/token', payload, remoteAddress }))
            .statusCode,
        );
      }
      expect(codes).toEqual([401, 401, 429]);
    } finally {
      await small.close();
    }
  });
});

describe('idempotency', () => {
  it('replays the first response and refuses the same key with another body', async () => {
    const headers = { 'idempotency-key': `k-${Date.now()}` };
    const first = await call(
      t.app,
      a.admin.token,
      'POST',
      '/api/v1/verticals',
      { code: 'IDEM', name: 'Idem' },
      headers,
    );
    expect(first.statusCode).toBe(201);
    const replay = await call(
      t.app,
      a.admin.token,
      'POST',
      '/api/v1/verticals',
      { code: 'IDEM', name: 'Idem' },
      headers,
    );
    expect(replay.statusCode).toBe(201);
    expect(replay.headers['idempotent-replayed']).toBe('true');
    expect(replay.json()).toEqual(first.json());
    const mismatch = await call(
      t.app,
      a.admin.token,
      'POST',
      '/api/v1/verticals',
      { code: 'IDEM2', name: 'x' },
      headers,
    );
    expect(mismatch.statusCode).toBe(422);
    expect(mismatch.json().code).toBe('ERR_IDEMPOTENCY_MISMATCH');
    const list = await call(t.app, a.admin.token, 'GET', '/api/v1/verticals');
    expect(list.json().data.filter((v: { code: string }) => v.code.startsWith('IDEM'))).toHaveLength(1);
  });

  it('a duplicate arriving while the first runs gets 409', async () => {
    const headers = { 'idempotency-key': `c-${Date.now()}` };
    const body = { code: 'CONC', name: 'Concurrent' };
    const results = await Promise.all([
      call(t.app, a.admin.token, 'POST', '/api/v1/verticals', body, headers),
      call(t.app, a.admin.token, 'POST', '/api/v1/verticals', body, headers),
    ]);
    const codes = results.map((r) => r.statusCode).sort();
    expect(codes[0]).toBe(201);
    expect([201, 409]).toContain(codes[1]);
    const list = await call(t.app, a.admin.token, 'GET', '/api/v1/verticals');
    expect(list.json().data.filter((v: { code: string }) => v.code === 'CONC')).toHaveLength(1);
  });
});

describe('audit', () => {
  it('records calls with actor, action, outcome and correlation id; the chain verifies', async () => {
    const auditor = await a.client({ roles: ['auditor'] });
    const res = await call(
      t.app,
      a.admin.token,
      'POST',
      '/api/v1/verticals',
      { code: 'AUD', name: 'Audited' },
      {
        'x-request-id': 'corr-audit-1',
      },
    );
    expect(res.statusCode).toBe(201);
    await call(t.app, auditor.token, 'GET', '/api/v1/clients/hc_nothing');
    const list = await call(
      t.app,
      auditor.token,
      'GET',
      `/api/v1/audit-events?action=vertical.create&limit=200`,
    );
    expect(list.statusCode).toBe(200);
    const ev = list.json().data.find((e: { correlation_id: string }) => e.correlation_id === 'corr-audit-1');
    expect(ev).toMatchObject({
      tenant_id: a.tenantId,
      actor_id: a.admin.clientId,
      resource_type: 'vertical',
      outcome: 'success',
    });
    const denied = await call(
      t.app,
      auditor.token,
      'GET',
      `/api/v1/audit-events?outcome=denied&actor=${auditor.clientId}`,
    );
    expect(denied.json().data.length).toBeGreaterThan(0);
    const verify = await call(t.app, auditor.token, 'GET', '/api/v1/audit-events/verify');
    expect(verify.json()).toMatchObject({ valid: true, first_break: null });
    expect(verify.json().checked).toBeGreaterThan(3);
  });

  it('a read that masks person fields records the masking decision in its audit event', async () => {
    const registrar = await a.client({ roles: ['registrar'] });
    const auditor = await a.client({ roles: ['auditor'] });
    const created = await call(t.app, registrar.token, 'POST', '/api/v1/persons', {
      full_name: 'Masked Reader',
      date_of_birth: '1980-02-03',
      gender: '1',
      identity_type: 'national_id',
      identity_number: `MASK${Date.now()}`,
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().person_id;
    const read = await call(t.app, auditor.token, 'GET', `/api/v1/persons/${id}`, undefined, {
      'x-request-id': `corr-mask-${id}`,
    });
    expect(read.statusCode).toBe(200);
    expect(read.json().masked_fields).toContain('date_of_birth');
    await t.app.hearth.services.auditBuffer.flush();
    const events = await call(
      t.app,
      a.admin.token,
      'GET',
      `/api/v1/audit-events?actor=${auditor.clientId}&limit=200`,
    );
    const ev = events
      .json()
      .data.find((e: { correlation_id: string }) => e.correlation_id === `corr-mask-${id}`);
    expect(ev.details.masking.persons).toBe(1);
    expect(ev.details.masking.fields).toEqual(expect.arrayContaining(['date_of_birth', 'identities']));
    // The registrar sees the identity number during registration: audited as a sensitive read.
    const full = await call(t.app, registrar.token, 'GET', `/api/v1/persons/${id}`, undefined, {
      'x-request-id': `corr-sens-${id}`,
    });
    expect(full.json().masked_fields).toEqual([]);
    await t.app.hearth.services.auditBuffer.flush();
    const mine = await call(
      t.app,
      a.admin.token,
      'GET',
      `/api/v1/audit-events?actor=${registrar.clientId}&limit=200`,
    );
    const sens = mine
      .json()
      .data.find((e: { correlation_id: string }) => e.correlation_id === `corr-sens-${id}`);
    expect(sens.details.sensitive_read).toEqual({ fields: ['identities.identity_number'], persons: 1 });
  });

  it('a write transaction appends its events at commit: kept with it, gone with a rollback, chain lock held only then', async () => {
    const run = `run-${Date.now()}`;
    const event = (action: string) => ({
      tenantId: a.tenantId,
      actorId: a.admin.clientId,
      action,
      resourceType: 'test',
      resourceId: run,
      outcome: 'success' as const,
    });
    const stored = async () =>
      (
        await t.db.query<{ action: string }>(
          'SELECT action FROM audit_events WHERE tenant_key = $1 AND resource_id = $2 ORDER BY seq',
          [a.tenantId, run],
        )
      ).rows.map((r) => r.action);
    // Two events of one transaction: both stored, in order.
    await t.db.transaction(
      async (tx) => {
        await appendAudit(tx, event('test.first'));
        await appendAudit(tx, event('test.second'));
      },
      { tenantId: a.tenantId },
    );
    expect(await stored()).toEqual(['test.first', 'test.second']);
    // A rolled-back transaction leaves no event.
    await expect(
      t.db.transaction(
        async (tx) => {
          await appendAudit(tx, event('test.lost'));
          throw new Error('rolled back');
        },
        { tenantId: a.tenantId },
      ),
    ).rejects.toThrow('rolled back');
    expect(await stored()).toEqual(['test.first', 'test.second']);
    if (!isPostgres()) return; // one embedded connection: no concurrent transactions to compare
    // While one transaction that has audited is still open, another of the same tenant commits its
    // own audited write: the chain head is not locked until the first one commits.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let audited!: () => void;
    const slowAudited = new Promise<void>((r) => {
      audited = r;
    });
    const slow = t.db.transaction(
      async (tx) => {
        await appendAudit(tx, event('test.slow'));
        audited();
        await held;
      },
      { tenantId: a.tenantId },
    );
    await slowAudited;
    const quick = await Promise.race([
      t.db
        .transaction((tx) => appendAudit(tx, event('test.quick')), { tenantId: a.tenantId })
        .then(() => true),
      new Promise<false>((r) => setTimeout(() => r(false), 5_000)),
    ]);
    release();
    await slow;
    expect(quick).toBe(true);
    // Chain order is commit order, and ids (given at commit) follow it: paging by id misses nothing.
    expect(await stored()).toEqual(['test.first', 'test.second', 'test.quick', 'test.slow']);
    const { rows } = await t.db.query<{ event_id: string }>(
      'SELECT event_id FROM audit_events WHERE tenant_key = $1 AND resource_id = $2 ORDER BY seq',
      [a.tenantId, run],
    );
    expect(rows.map((r) => r.event_id)).toEqual(rows.map((r) => r.event_id).sort());
    const verify = await call(t.app, a.admin.token, 'GET', '/api/v1/audit-events/verify');
    expect(verify.json()).toMatchObject({ valid: true });
  });

  it('is append-only, and an altered row breaks the chain detectably', async () => {
    const auditor = await a.client({ roles: ['auditor'] });
    await expect(
      t.db.query("UPDATE audit_events SET action = 'x' WHERE tenant_key = $1", [a.tenantId]),
    ).rejects.toThrow(/append-only/);
    await expect(t.db.query('DELETE FROM audit_events WHERE tenant_key = $1', [a.tenantId])).rejects.toThrow(
      /append-only/,
    );
    const { rows } = await t.db.query<{ event_id: string }>(
      'SELECT event_id FROM audit_events WHERE tenant_key = $1 ORDER BY seq OFFSET 2 LIMIT 1',
      [a.tenantId],
    );
    await t.db.exec('ALTER TABLE audit_events DISABLE TRIGGER audit_events_no_update');
    try {
      await t.db.query("UPDATE audit_events SET actor_id = 'forged' WHERE event_id = $1", [rows[0].event_id]);
    } finally {
      await t.db.exec('ALTER TABLE audit_events ENABLE TRIGGER audit_events_no_update');
    }
    const verify = await call(t.app, auditor.token, 'GET', '/api/v1/audit-events/verify');
    expect(verify.json().valid).toBe(false);
    expect(verify.json().first_break.event_id).toBe(rows[0].event_id);
    // Tenant B's chain is untouched.
    const bAuditor = await b.client({ roles: ['auditor'] });
    expect((await call(t.app, bAuditor.token, 'GET', '/api/v1/audit-events/verify')).json().valid).toBe(true);
  });

  it('fails closed: a write whose audit event cannot be stored is refused and rolled back', async () => {
    await t.db.exec(`CREATE OR REPLACE FUNCTION refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.action = 'vertical.create' AND NEW.tenant_id = '${b.tenantId}' THEN RAISE EXCEPTION 'audit store down'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_audit BEFORE INSERT ON audit_events FOR EACH ROW EXECUTE FUNCTION refuse_audit();`);
    try {
      const res = await call(t.app, b.admin.token, 'POST', '/api/v1/verticals', {
        code: 'NOAUDIT',
        name: 'x',
      });
      expect(res.statusCode).toBe(500);
      expect(res.body).not.toContain('audit store down');
    } finally {
      await t.db.exec('DROP TRIGGER refuse_audit ON audit_events; DROP FUNCTION refuse_audit()');
    }
    const list = await call(t.app, b.admin.token, 'GET', '/api/v1/verticals');
    expect(list.json().data.map((v: { code: string }) => v.code)).not.toContain('NOAUDIT');
  });
});
