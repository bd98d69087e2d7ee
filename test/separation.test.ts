// Separation of duties and client changes (issue 14).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, type TestApp } from './helpers/app.js';
import { consentKit } from './helpers/consent.js';
import { createPerson } from './helpers/registry.js';
import {
  call,
  createTestTenant,
  type IssuedTestClient,
  type TestTenant,
  tokenFor,
} from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
let registrar: IssuedTestClient;
let reviewer: IssuedTestClient;
beforeAll(async () => {
  t = await createTestApp();
  // The default policy: separation of duties enforced.
  a = await createTestTenant(t, { separation_of_duties: true });
  registrar = await a.client({ roles: ['registrar'] });
  reviewer = await a.client({ roles: ['reviewer', 'registrar'] });
});
afterAll(() => t?.close());

const { evidence, captureBody } = consentKit(() => ({ t, a }));
const post = (token: string, url: string, body: unknown = {}) => call(t.app, token, 'POST', url, body);

describe('separation of duties', () => {
  it('a client cannot verify a person, household or consent it registered or captured itself', async () => {
    const p = await createPerson(t.app, registrar.token, {});
    const own = await post(registrar.token, `/api/v1/persons/${p.person_id}/verify`);
    expect(own.statusCode, own.body).toBe(403);
    expect(own.json()).toMatchObject({ code: 'ERR_SEC_FORBIDDEN', rule: 'separation_of_duties' });
    expect((await call(t.app, a.admin.token, 'GET', `/api/v1/persons/${p.person_id}`)).json()).toMatchObject({
      verification_status: 'provisional',
      version_id: 1,
    });
    const other = await post(reviewer.token, `/api/v1/persons/${p.person_id}/verify`);
    expect(other.statusCode, other.body).toBe(200);

    const hh = await post(registrar.token, '/api/v1/households', {
      household_name: 'Own',
      leader_id: p.person_id,
    });
    expect(hh.statusCode, hh.body).toBe(201);
    const hid = hh.json().household_id;
    const ownHh = await call(t.app, registrar.token, 'PATCH', `/api/v1/households/${hid}`, {
      status: 'verified',
    });
    expect(ownHh.statusCode, ownHh.body).toBe(403);
    const otherHh = await call(t.app, reviewer.token, 'PATCH', `/api/v1/households/${hid}`, {
      status: 'verified',
    });
    expect(otherHh.statusCode, otherHh.body).toBe(200);

    const c = await post(registrar.token, `/api/v1/persons/${p.person_id}/consents`, {
      ...captureBody(a, { capture_mode: 'offline' }),
      ...(await evidence()),
    });
    expect(c.statusCode, c.body).toBe(201);
    expect(c.json().status).toBe('pending');
    const ownConsent = await post(registrar.token, `/api/v1/consents/${c.json().consent_id}/verify`);
    expect(ownConsent.statusCode, ownConsent.body).toBe(403);
    const otherConsent = await post(reviewer.token, `/api/v1/consents/${c.json().consent_id}/verify`);
    expect(otherConsent.statusCode, otherConsent.body).toBe(200);
  });

  it('a tenant admin may relax the rule for a small team', async () => {
    const p = await createPerson(t.app, registrar.token, {});
    expect((await post(registrar.token, `/api/v1/persons/${p.person_id}/verify`)).statusCode).toBe(403);
    const relax = await call(t.app, a.admin.token, 'PATCH', '/api/v1/access-policy', {
      separation_of_duties: false,
    });
    expect(relax.statusCode, relax.body).toBe(200);
    expect((await post(registrar.token, `/api/v1/persons/${p.person_id}/verify`)).statusCode).toBe(200);
    await call(t.app, a.admin.token, 'PATCH', '/api/v1/access-policy', { separation_of_duties: true });
  });
});

describe('PATCH /api/v1/clients/{client_id}', () => {
  it('changes a client with If-Match, records a version and an audit event, applies at once', async () => {
    const c = await a.client({ roles: ['auditor'], name: 'before' });
    const url = `/api/v1/clients/${c.clientId}`;
    const current = await call(t.app, a.admin.token, 'GET', url);
    expect(current.json().version_id).toBe(1);
    const stale = await call(t.app, a.admin.token, 'PATCH', url, { name: 'x' }, { 'if-match': '"7"' });
    expect(stale.statusCode).toBe(412);
    // Before: an auditor cannot write persons.
    expect((await post(c.token, '/api/v1/persons', { full_name: 'Nobody Yet' })).statusCode).toBe(403);
    const res = await call(
      t.app,
      a.admin.token,
      'PATCH',
      url,
      { name: 'after', roles: ['registrar'], rate_limit_per_minute: 500 },
      { 'if-match': '"1"' },
    );
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers.etag).toBe('"2"');
    expect(res.json()).toMatchObject({
      name: 'after',
      roles: ['registrar'],
      rate_limit_per_minute: 500,
      version_id: 2,
    });
    expect(res.json().scopes).toContain('persons:write');
    // A token carries the scopes it was issued with, bounded by the client's current ones: a new
    // token acts with the new roles (a narrowing would apply to the old token at once).
    expect((await post(c.token, '/api/v1/persons', { full_name: 'Not Yet' })).statusCode).toBe(403);
    const fresh = await tokenFor(t.app, c.clientId, c.secret);
    expect((await createPerson(t.app, fresh, { full_name: 'Now Allowed' })).person_id).toBeTruthy();
    const versions = await t.db.query<{ fields: string[]; old_values: Record<string, unknown> }>(
      `SELECT v.fields, v.old_values FROM api_client_versions v JOIN api_clients c ON c.id = v.client_uuid
        WHERE c.client_id = $1`,
      [c.clientId],
    );
    expect(versions.rows).toHaveLength(1);
    expect(versions.rows[0].old_values).toMatchObject({ name: 'before', roles: ['auditor'] });
    const audit = await call(
      t.app,
      a.admin.token,
      'GET',
      '/api/v1/audit-events?action=client.update&limit=50',
    );
    expect(audit.json().data.some((e: { resource_id: string }) => e.resource_id === c.clientId)).toBe(true);
    // Deactivation through PATCH ends the live token at once.
    const off = await call(t.app, a.admin.token, 'PATCH', url, { active: false });
    expect(off.statusCode, off.body).toBe(200);
    expect((await call(t.app, c.token, 'GET', '/api/v1/persons')).statusCode).toBe(401);
  });

  it('never grants more than the admin holds, and answers 404 for other tenants', async () => {
    const limited = await a.client({ roles: ['tenant_admin'], vertical_ids: [a.verticals.HEALTH] });
    const target = await a.client({ roles: ['auditor'], vertical_ids: [a.verticals.HEALTH] });
    const url = `/api/v1/clients/${target.clientId}`;
    const wider = await call(t.app, limited.token, 'PATCH', url, { vertical_ids: [a.verticals.EDU] });
    expect(wider.statusCode, wider.body).toBe(403);
    const root = await call(t.app, a.admin.token, 'PATCH', url, { roles: ['root'] });
    expect(root.statusCode).toBe(403);
    const weak = await a.client({ roles: ['tenant_admin'], scopes: ['persons:read', 'vocabulary:read'] });
    const scopes = await call(t.app, weak.token, 'PATCH', url, { scopes: ['audit:read'] });
    expect(scopes.statusCode, scopes.body).toBe(403);
    const b = await createTestTenant(t);
    expect((await call(t.app, b.admin.token, 'PATCH', url, { name: 'mine' })).statusCode).toBe(404);
    expect((await call(t.app, registrar.token, 'PATCH', url, { name: 'x' })).statusCode).toBe(403);
    const unchanged = (await call(t.app, a.admin.token, 'GET', url)).json();
    expect(unchanged).toMatchObject({ roles: ['auditor'], version_id: 1 });
  });
});
