import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestApp, TEST_ROOT, type TestApp } from './helpers/app.js';
import { call, createTestTenant, rootToken, type TestTenant, tokenFor } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
beforeAll(async () => {
  t = await createTestApp();
  a = await createTestTenant(t);
});
afterAll(() => t?.close());

describe('tenants and verticals', () => {
  it('a new tenant has the five system verticals', () => {
    expect(Object.keys(a.verticals).sort()).toEqual(['DATA', 'ECON', 'EDU', 'FIN', 'HEALTH']);
  });

  it('only ROOT manages tenants', async () => {
    const res = await call(t.app, a.admin.token, 'POST', '/api/v1/tenants', { name: 'x', code: 'xx-1' });
    expect(res.statusCode).toBe(403);
    expect(res.json().code).toBe('ERR_SEC_FORBIDDEN');
    const list = await call(t.app, a.admin.token, 'GET', '/api/v1/tenants');
    expect(list.statusCode).toBe(403);
  });

  it('ROOT lists, reads and patches tenants; a duplicate code is a conflict', async () => {
    const root = await rootToken(t.app);
    const got = await call(t.app, root, 'GET', `/api/v1/tenants/${a.tenantId}`);
    expect(got.statusCode).toBe(200);
    expect(got.json().code).toBe(a.code);
    const dup = await call(t.app, root, 'POST', '/api/v1/tenants', { name: 'again', code: a.code });
    expect(dup.statusCode).toBe(409);
    const patched = await call(t.app, root, 'PATCH', `/api/v1/tenants/${a.tenantId}`, {
      settings: { consent_grace_days: 45 },
    });
    expect(patched.statusCode).toBe(200);
    expect(patched.json().settings.consent_grace_days).toBe(45);
    const tooLong = await call(t.app, root, 'PATCH', `/api/v1/tenants/${a.tenantId}`, {
      settings: { consent_grace_days: 120 },
    });
    expect(tooLong.statusCode).toBe(422);
    await createTestTenant(t);
    const page1 = await call(t.app, root, 'GET', '/api/v1/tenants?limit=1');
    expect(page1.json().data).toHaveLength(1);
    expect(typeof page1.json().next_cursor).toBe('string');
    const page2 = await call(
      t.app,
      root,
      'GET',
      `/api/v1/tenants?limit=1&cursor=${page1.json().next_cursor}`,
    );
    expect(page2.json().data[0].tenant_id).not.toBe(page1.json().data[0].tenant_id);
    const badCursor = await call(t.app, root, 'GET', '/api/v1/tenants?cursor=bm90LWEtY3Vyc29y');
    expect(badCursor.statusCode).toBe(400);
  });

  it('tenant admins add verticals; others cannot', async () => {
    const res = await call(t.app, a.admin.token, 'POST', '/api/v1/verticals', {
      code: 'SOCIAL',
      name: 'Social',
    });
    expect(res.statusCode).toBe(201);
    const registrar = await a.client({ roles: ['registrar'] });
    const refused = await call(t.app, registrar.token, 'POST', '/api/v1/verticals', {
      code: 'OTHER1',
      name: 'x',
    });
    expect(refused.statusCode).toBe(403);
  });
});

describe('tokens', () => {
  it('issues a token from a JSON body, a form body or HTTP Basic', async () => {
    const c = await a.client({ roles: ['registrar'] });
    const form = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `grant_type=client_credentials&client_id=${c.clientId}&client_secret=${c.secret}`,
    });
    expect(form.statusCode).toBe(200);
    const body = form.json();
    expect(body.token_type).toBe('Bearer');
    expect(body.expires_in).toBe(3600);
    expect(body.scope.split(' ')).toContain('persons:write');
    const basic = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      headers: {
        authorization: `Basic ${Buffer.from(`${c.clientId}:${c.secret}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      payload: 'grant_type=client_credentials&scope=persons:read',
    });
    expect(basic.statusCode).toBe(200);
    expect(basic.json().scope).toBe('persons:read');
  });

  it('token claims carry tenant, roles, scope and no database ids', async () => {
    const c = await a.client({ roles: ['registrar'], vertical_ids: [a.verticals.HEALTH] });
    const [, payload] = c.token.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    expect(claims.sub).toBe(c.clientId);
    expect(claims.tenant_id).toBe(a.tenantId);
    expect(claims.roles).toEqual(['registrar']);
    expect(claims.verticals).toEqual([a.verticals.HEALTH]);
    for (const k of ['iss', 'aud', 'iat', 'exp', 'jti']) expect(claims[k]).toBeDefined();
  });

  it('refuses bad credentials, grants and scopes with RFC 6749 errors', async () => {
    const c = await a.client({ roles: ['auditor'] });
    const cases: [Record<string, string>, number, string][] = [
      [
        { grant_type: 'client_credentials', client_id: c.clientId, client_secret: 'wrong' },
        401,
        'invalid_client',
      ],
      [{ grant_type: 'client_credentials', client_id: 'nobody', client_secret: 'x' }, 401, 'invalid_client'],
      [
        { grant_type: 'password', client_id: c.clientId, client_secret: c.secret },
        400,
        'unsupported_grant_type',
      ],
      [{ client_id: c.clientId, client_secret: c.secret }, 400, 'invalid_request'],
      [
        {
          grant_type: 'client_credentials',
          client_id: c.clientId,
          client_secret: c.secret,
          scope: 'persons:write',
        },
        400,
        'invalid_scope',
      ],
      [
        {
          grant_type: 'client_credentials',
          client_id: c.clientId,
          client_secret: c.secret,
          scope: 'made:up',
        },
        400,
        'invalid_scope',
      ],
    ];
    for (const [payload, status, error] of cases) {
      const res = await t.app.inject({ method: 'POST', url: '/oauth/token', payload });
      expect(res.statusCode, JSON.stringify(payload)).toBe(status);
      expect(res.json().error).toBe(error);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
    }
  });

  it('publishes the signing keys as a JWKS', async () => {
    const res = await t.app.inject({ url: '/.well-known/jwks.json' });
    expect(res.statusCode).toBe(200);
    const [key] = res.json().keys;
    expect(key).toMatchObject({ kty: 'OKP', crv: 'Ed25519', use: 'sig', alg: 'EdDSA' });
    expect(typeof key.kid).toBe('string');
  });

  it('after a key rotation, old tokens still verify and new ones use the new kid', async () => {
    const c = await a.client({ roles: ['auditor'] });
    const root = await rootToken(t.app);
    const rotated = await call(t.app, root, 'POST', '/api/v1/signing-keys/rotate');
    expect(rotated.statusCode).toBe(200);
    const old = await call(t.app, c.token, 'GET', '/api/v1/verticals');
    expect(old.statusCode).toBe(200);
    const fresh = await tokenFor(t.app, c.clientId, c.secret);
    const kid = JSON.parse(Buffer.from(fresh.split('.')[0], 'base64url').toString()).kid;
    expect(kid).toBe(rotated.json().kid);
    const jwks = (await t.app.inject({ url: '/.well-known/jwks.json' })).json();
    expect(jwks.keys.map((k: { kid: string }) => k.kid)).toEqual(
      expect.arrayContaining([kid, ...rotated.json().retired]),
    );
  });
});

describe('bearer token refusals', () => {
  const url = '/api/v1/verticals';

  it('no token → 401 with WWW-Authenticate', async () => {
    const res = await call(t.app, null, 'GET', url);
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.json().code).toBe('ERR_AUTH_INVALID');
  });

  it('changed payload, alg none, another key, wrong audience → 401', async () => {
    const c = await a.client({ roles: ['auditor'] });
    const [h, p, s] = c.token.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    const tampered = `${h}.${Buffer.from(JSON.stringify({ ...claims, roles: ['root'] })).toString('base64url')}.${s}`;
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${p}.`;
    const { SignJWT, generateKeyPair } = await import('jose');
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519' });
    const header = JSON.parse(Buffer.from(h, 'base64url').toString());
    const otherKey = await new SignJWT(claims)
      .setProtectedHeader({ alg: 'EdDSA', kid: header.kid })
      .sign(privateKey);
    for (const token of [tampered, none, otherKey, 'not.a.jwt', `${h}.${p}`]) {
      const res = await call(t.app, token, 'GET', url);
      expect(res.statusCode, token.slice(0, 20)).toBe(401);
    }
  });

  it('an expired token → 401 ERR_AUTH_EXPIRED', async () => {
    const c = await a.client({ roles: ['auditor'] });
    const { key, kid } = t.app.hearth.services.keys.signingKey();
    const { SignJWT } = await import('jose');
    const claims = JSON.parse(Buffer.from(c.token.split('.')[1], 'base64url').toString());
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({ ...claims, iat: now - 7200, exp: now - 3600 })
      .setProtectedHeader({ alg: 'EdDSA', kid })
      .sign(key);
    const res = await call(t.app, expired, 'GET', url);
    expect(res.statusCode).toBe(401);
    expect(res.json().code).toBe('ERR_AUTH_EXPIRED');
  });

  it('deactivating a client revokes its live tokens at once; reactivating needs a new token', async () => {
    const c = await a.client({ roles: ['auditor'] });
    expect((await call(t.app, c.token, 'GET', url)).statusCode).toBe(200);
    const off = await call(t.app, a.admin.token, 'POST', `/api/v1/clients/${c.clientId}/deactivate`);
    expect(off.statusCode).toBe(200);
    expect(off.json().active).toBe(false);
    expect((await call(t.app, c.token, 'GET', url)).statusCode).toBe(401);
    const noToken = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.secret },
    });
    expect(noToken.statusCode).toBe(401);
    await call(t.app, a.admin.token, 'POST', `/api/v1/clients/${c.clientId}/activate`);
    expect((await call(t.app, c.token, 'GET', url)).statusCode).toBe(401);
    const again = await tokenFor(t.app, c.clientId, c.secret);
    expect((await call(t.app, again, 'GET', url)).statusCode).toBe(200);
  });

  it('rotating a secret returns the new one once and revokes earlier tokens', async () => {
    const c = await a.client({ roles: ['auditor'] });
    const res = await call(t.app, a.admin.token, 'POST', `/api/v1/clients/${c.clientId}/rotate-secret`);
    expect(res.statusCode).toBe(200);
    const secret = res.json().client_secret;
    expect(secret).not.toBe(c.secret);
    expect((await call(t.app, c.token, 'GET', url)).statusCode).toBe(401);
    const bad = await t.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'client_credentials', client_id: c.clientId, client_secret: c.secret },
    });
    expect(bad.statusCode).toBe(401);
    await tokenFor(t.app, c.clientId, secret);
  });
});

describe('api clients', () => {
  it('never shows the secret again and stores only a scrypt hash', async () => {
    const c = await a.client({ roles: ['registrar'] });
    const res = await call(t.app, a.admin.token, 'GET', `/api/v1/clients/${c.clientId}`);
    expect(res.statusCode).toBe(200);
    expect(JSON.stringify(res.json())).not.toContain(c.secret);
    expect(res.json().client_secret).toBeUndefined();
    const { rows } = await t.db.query<{ secret_hash: string }>(
      'SELECT secret_hash FROM api_clients WHERE client_id = $1',
      [c.clientId],
    );
    expect(rows[0].secret_hash).toMatch(/^scrypt\$/);
    expect(rows[0].secret_hash).not.toContain(c.secret);
  });

  it('a tenant admin never grants more than it has', async () => {
    const limited = await a.client({ roles: ['tenant_admin'], scopes: ['persons:read', 'vocabulary:read'] });
    const wider = await call(t.app, limited.token, 'POST', '/api/v1/clients', {
      name: 'x',
      roles: ['registrar'],
      scopes: ['persons:write'],
    });
    expect(wider.statusCode).toBe(403);
    const rootClient = await call(t.app, a.admin.token, 'POST', '/api/v1/clients', {
      name: 'x',
      roles: ['root'],
    });
    expect(rootClient.statusCode).toBe(403);
    const outsideRole = await call(t.app, a.admin.token, 'POST', '/api/v1/clients', {
      name: 'x',
      roles: ['auditor'],
      scopes: ['persons:write'],
    });
    expect(outsideRole.statusCode).toBe(422);
    const unknownVertical = await call(t.app, a.admin.token, 'POST', '/api/v1/clients', {
      name: 'x',
      roles: ['auditor'],
      vertical_ids: ['00000000-0000-4000-8000-000000000000'],
    });
    expect(unknownVertical.statusCode).toBe(422);
    const verticalLimited = await a.client({ roles: ['tenant_admin'], vertical_ids: [a.verticals.EDU] });
    const beyond = await call(t.app, verticalLimited.token, 'POST', '/api/v1/clients', {
      name: 'x',
      roles: ['auditor'],
      vertical_ids: [a.verticals.HEALTH],
    });
    expect(beyond.statusCode).toBe(403);
  });

  it('bootstrap ROOT client exists with the configured secret', async () => {
    const token = await tokenFor(t.app, TEST_ROOT.id, TEST_ROOT.secret);
    const claims = JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString());
    expect(claims.roles).toEqual(['root']);
    expect(claims.tenant_id).toBeUndefined();
  });
});
