import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { personBody } from './helpers/registry.js';
import { asUser, createUser, signIn, type TestSession } from './helpers/session.js';
import { call, createTestTenant, rootToken, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let b: TestTenant;

beforeAll(async () => {
  t = await createTestApp();
  [a, b] = await Promise.all([createTestTenant(t), createTestTenant(t)]);
});
afterAll(() => t?.close());

const uname = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;

async function userSession(tenant: TestTenant, roles: string[], extra: Record<string, unknown> = {}) {
  const u = await createUser(t.app, tenant.admin.token, { username: uname(roles[0]), roles, ...extra });
  return { ...u, s: await signIn(t.app, u.username, u.password) };
}

describe('users API', () => {
  it('tenant admins manage their own tenant’s users; others are 404 and non-admins 403', async () => {
    const u = await createUser(t.app, a.admin.token, {
      username: uname('clerk'),
      roles: ['registrar'],
      display_name: 'Clerk One',
    });
    const got = await call(t.app, a.admin.token, 'GET', `/api/v1/users/${u.user_id}`);
    expect(got.statusCode).toBe(200);
    expect(got.json()).toMatchObject({ username: u.username, tenant_id: a.tenantId, auth_source: 'local' });
    expect(got.json()).not.toHaveProperty('password_hash');
    expect(got.headers.etag).toBe('"1"');
    expect((await call(t.app, b.admin.token, 'GET', `/api/v1/users/${u.user_id}`)).statusCode).toBe(404);
    const list = await call(t.app, b.admin.token, 'GET', '/api/v1/users');
    expect(list.json().data.map((x: { user_id: string }) => x.user_id)).not.toContain(u.user_id);
    const registrar = await a.client({ roles: ['registrar'] });
    expect((await call(t.app, registrar.token, 'GET', '/api/v1/users')).statusCode).toBe(403);
    expect((await call(t.app, null, 'GET', '/api/v1/users')).statusCode).toBe(401);
  });

  it('row-level security keeps users and sessions to the transaction tenant', async () => {
    const theirs = await createUser(t.app, b.admin.token, { username: uname('rls'), roles: ['auditor'] });
    await signIn(t.app, theirs.username, theirs.password);
    const seen = await t.db.transaction(
      async (tx) => {
        const users = await tx.query<{ n: number }>('SELECT count(*)::int AS n FROM users WHERE id = $1', [
          theirs.user_id,
        ]);
        const sessions = await tx.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM user_sessions WHERE user_id = $1',
          [theirs.user_id],
        );
        return [users.rows[0].n, sessions.rows[0].n];
      },
      { tenantId: a.tenantId },
    );
    expect(seen).toEqual([0, 0]);
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM user_sessions WHERE user_id = $1',
      [theirs.user_id],
    );
    expect(rows[0].n).toBe(1);
  });

  it('usernames are unique across tenants regardless of case', async () => {
    const name = uname('Same');
    await createUser(t.app, a.admin.token, { username: name, roles: ['auditor'] });
    const dup = await call(t.app, b.admin.token, 'POST', '/api/v1/users', {
      username: name.toLowerCase(),
      roles: ['auditor'],
    });
    expect(dup.statusCode).toBe(409);
  });

  it('refuses bad input and grants beyond the admin’s own', async () => {
    const bad = [
      { username: 'x', roles: ['auditor'] },
      { username: uname('ok'), roles: [] },
      { username: uname('ok'), roles: ['auditor'], shoe_size: 42 },
      { username: uname('ok'), roles: ['root'] },
    ];
    const codes = [];
    for (const body of bad)
      codes.push((await call(t.app, a.admin.token, 'POST', '/api/v1/users', body)).statusCode);
    expect(codes).toEqual([422, 422, 422, 403]);
    const limited = await a.client({ roles: ['tenant_admin'], vertical_ids: [a.verticals.HEALTH] });
    const beyond = await call(t.app, limited.token, 'POST', '/api/v1/users', {
      username: uname('wide'),
      roles: ['registrar'],
      password: 'a long enough passphrase 9',
    });
    expect(beyond.statusCode).toBe(403);
  });

  it('PATCH changes roles with If-Match; the open session follows at its next request', async () => {
    const { user_id, s } = await userSession(a, ['auditor']);
    expect((await asUser(t.app, s, 'POST', '/api/v1/persons', {})).statusCode).toBe(403);
    const stale = await call(
      t.app,
      a.admin.token,
      'PATCH',
      `/api/v1/users/${user_id}`,
      { roles: ['registrar'] },
      {
        'if-match': '"7"',
      },
    );
    expect(stale.statusCode).toBe(412);
    const res = await call(
      t.app,
      a.admin.token,
      'PATCH',
      `/api/v1/users/${user_id}`,
      { roles: ['registrar'] },
      {
        'if-match': '"1"',
      },
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().version_id).toBe(2);
    expect(res.json().scopes).toContain('persons:write');
    const session = await asUser(t.app, s, 'GET', '/auth/session');
    expect(session.json().user.roles).toEqual(['registrar']);
  });

  it('reset-password issues a one-time password and ends the user’s sessions', async () => {
    const { user_id, username, s } = await userSession(a, ['auditor']);
    const res = await call(t.app, a.admin.token, 'POST', `/api/v1/users/${user_id}/reset-password`);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    expect((await asUser(t.app, s, 'GET', '/auth/session')).statusCode).toBe(401);
    const again = await signIn(t.app, username, res.json().one_time_password);
    expect(again.body.restriction).toBe('password_change');
  });
});

describe('a signed-in person’s scope checks on a sample of routes', () => {
  let registrar: TestSession;
  let auditor: TestSession;
  let limited: TestSession;

  beforeAll(async () => {
    registrar = (await userSession(a, ['registrar'])).s;
    auditor = (await userSession(a, ['auditor'])).s;
    limited = (await userSession(a, ['registrar'], { scopes: ['persons:read'] })).s;
  });

  it('answers like a bearer client with the same roles', async () => {
    const person = personBody();
    const created = await asUser(t.app, registrar, 'POST', '/api/v1/persons', person);
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().person_id;
    expect((await asUser(t.app, auditor, 'GET', `/api/v1/persons/${id}`)).statusCode).toBe(200);
    const denied = await asUser(t.app, auditor, 'POST', '/api/v1/persons', person);
    expect(denied.statusCode).toBe(403);
    expect(denied.json().code).toBe('ERR_SEC_FORBIDDEN');
    expect((await asUser(t.app, limited, 'POST', '/api/v1/persons', person)).statusCode).toBe(403);
    expect((await asUser(t.app, registrar, 'GET', '/api/v1/audit-events')).statusCode).toBe(403);
    expect((await asUser(t.app, auditor, 'GET', '/api/v1/audit-events')).statusCode).toBe(200);
    expect((await asUser(t.app, registrar, 'GET', '/api/v1/clients')).statusCode).toBe(403);
    expect((await asUser(t.app, registrar, 'GET', '/api/v1/tenants')).statusCode).toBe(403);
    // Another tenant's person is not found, as for a client.
    const other = await b.client({ roles: ['registrar'] });
    const theirs = await call(t.app, other.token, 'POST', '/api/v1/persons', person);
    expect(
      (await asUser(t.app, registrar, 'GET', `/api/v1/persons/${theirs.json().person_id}`)).statusCode,
    ).toBe(404);
    // X-Tenant-Id naming another tenant is refused for a person as for a client.
    const cross = await asUser(t.app, registrar, 'GET', '/api/v1/persons', undefined, {
      headers: { 'x-tenant-id': b.tenantId },
    });
    expect(cross.statusCode).toBe(403);
  });

  it('audit events name the user as well as the client', async () => {
    const created = await asUser(t.app, registrar, 'POST', '/api/v1/persons', personBody());
    expect(created.statusCode, created.body).toBe(201);
    const userId = registrar.body.user.id as string;
    const res = await call(t.app, a.admin.token, 'GET', `/api/v1/audit-events?user_id=${userId}&limit=200`);
    expect(res.statusCode, res.body).toBe(200);
    const events = res.json().data as { action: string; actor_id: string; user_id: string }[];
    expect(events.length).toBeGreaterThan(1);
    for (const e of events) {
      expect(e.user_id).toBe(userId);
      expect(e.actor_id).toBe(`user:${registrar.body.user.username}`);
    }
    expect(events.map((e) => e.action)).toContain('user.login');
    const verify = await call(t.app, a.admin.token, 'GET', '/api/v1/audit-events/verify');
    expect(verify.json().valid).toBe(true);
  });
});

describe('separation of duties between two users', () => {
  it('the user who requested an integration cannot approve it; another user of the same role can', async () => {
    const admins = [await userSession(a, ['tenant_admin']), await userSession(a, ['tenant_admin'])];
    const reviewer = await userSession(a, ['reviewer']);
    const created = await asUser(t.app, admins[0].s, 'POST', '/api/v1/integrations', {
      integration_name: uname('Clinic EMR'),
      partner_name: 'Ministry of Health',
      partner_type: 'government',
      vertical_ids: [a.verticals.HEALTH],
      active_from: new Date(Date.now() - 3600_000).toISOString(),
    });
    expect(created.statusCode, created.body).toBe(201);
    const id = created.json().integration_id;
    const step = (s: TestSession, action: string, body: unknown = {}) =>
      asUser(t.app, s, 'POST', `/api/v1/integrations/${id}/${action}`, body);
    expect(
      (await step(admins[0].s, 'request-review', { request_reason_code: 'ROUTINE_REVIEW' })).statusCode,
    ).toBe(200);
    expect((await step(reviewer.s, 'review', { review_notes: 'fine' })).statusCode).toBe(200);
    const own = await step(admins[0].s, 'approve', { approval_reason_code: 'ROUTINE_REVIEW' });
    expect(own.statusCode).toBe(403);
    expect(own.json().detail).toContain('requested');
    const other = await step(admins[1].s, 'approve', { approval_reason_code: 'ROUTINE_REVIEW' });
    expect(other.statusCode, other.body).toBe(200);
    expect(other.json().status).toBe('approved');
  });
});

describe('ROOT', () => {
  it('ROOT manages users of any tenant and creates ROOT users', async () => {
    const root = await rootToken(t.app);
    const u = await createUser(t.app, root, {
      username: uname('tenantuser'),
      roles: ['auditor'],
      tenant_id: b.tenantId,
    });
    expect((await call(t.app, root, 'GET', `/api/v1/users/${u.user_id}`)).json().tenant_id).toBe(b.tenantId);
    const r = await createUser(t.app, root, { username: uname('root2'), roles: ['root'] });
    expect((await call(t.app, a.admin.token, 'GET', `/api/v1/users/${r.user_id}`)).statusCode).toBe(404);
  });
});
