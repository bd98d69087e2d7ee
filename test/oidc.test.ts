import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mapRoles, safeReturnTo } from '../src/sessions/oidc.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { asUser, type TestSession } from './helpers/session.js';
import { call, createTestTenant, type TestTenant } from './helpers/tenant.js';

/**
 * Sign-in through a real OpenID Connect provider: the certified `oidc-provider` package runs in
 * this process on a loopback port, with its development login and consent pages, and the test
 * drives them as a browser would (following redirects, keeping cookies, submitting the forms).
 */

const CLIENT = { id: 'hearth-console', secret: randomBytes(24).toString('hex') };
const PUBLIC_URL = 'http://localhost:18099';

let provider: Provider;
let server: http.Server;
let issuer: string;
let t: TestApp;
let a: TestTenant;
/** Accounts the provider knows: login name → claims. */
const accounts: Record<string, Record<string, unknown>> = {};

beforeAll(async () => {
  let handler: http.RequestListener = (_req, res) => res.end();
  server = http.createServer((req, res) => handler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: CLIENT.id,
        client_secret: CLIENT.secret,
        redirect_uris: [`${PUBLIC_URL}/auth/oidc/callback`],
        grant_types: ['authorization_code'],
        response_types: ['code'],
      },
    ],
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email'],
      hearth: ['hearth_tenant', 'realm_access'],
    },
    cookies: { keys: [randomBytes(16).toString('hex')] },
    features: { devInteractions: { enabled: true } },
    async findAccount(_ctx, id) {
      const claims = accounts[id];
      if (!claims) return undefined;
      return { accountId: id, claims: async () => ({ sub: id, ...claims }) };
    },
  });
  handler = provider.callback();
  t = await createTestApp({
    HEARTH_PUBLIC_URL: PUBLIC_URL,
    HEARTH_OIDC_ISSUER: issuer,
    HEARTH_OIDC_CLIENT_ID: CLIENT.id,
    HEARTH_OIDC_CLIENT_SECRET: CLIENT.secret,
    HEARTH_OIDC_ALLOW_INSECURE: 'true',
    HEARTH_OIDC_NAME: 'Ministry SSO',
    HEARTH_OIDC_SCOPES: 'openid profile email hearth',
    HEARTH_OIDC_ROLES_CLAIM: 'realm_access.roles',
    HEARTH_OIDC_ROLE_MAP: 'hearth-registrar=registrar,hearth-auditor=auditor',
  });
  a = await createTestTenant(t);
});

afterAll(async () => {
  await t?.close();
  await new Promise((resolve) => server?.close(resolve));
});

/** A cookie jar for the provider's origin (the test plays the browser). */
function browser() {
  const jar = new Map<string, string>();
  const remember = (res: Response) => {
    for (const line of res.headers.getSetCookie()) {
      const [pair] = line.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i).trim();
      const value = pair.slice(i + 1).trim();
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) jar.delete(name);
      else jar.set(name, value);
    }
  };
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  return {
    async go(url: string, init: RequestInit = {}): Promise<Response> {
      const res = await fetch(url, {
        ...init,
        redirect: 'manual',
        headers: { ...(init.headers as Record<string, string>), cookie: cookie(), accept: 'text/html' },
      });
      remember(res);
      return res;
    },
  };
}

/**
 * Signs `login` in at the provider from Hearth's /auth/oidc/login, and returns Hearth's answer to
 * the callback the provider redirected to.
 */
async function signInThroughProvider(login: string, returnTo = '/console/persons?x=1', accept = 'text/html') {
  const start = await t.app.inject({
    method: 'GET',
    url: `/auth/oidc/login?return_to=${encodeURIComponent(returnTo)}`,
  });
  expect(start.statusCode, start.body).toBe(302);
  const authorize = new URL(String(start.headers.location));
  expect(authorize.origin).toBe(issuer);
  expect(authorize.searchParams.get('code_challenge_method')).toBe('S256');
  expect(authorize.searchParams.get('state')).toBeTruthy();
  expect(authorize.searchParams.get('nonce')).toBeTruthy();

  const b = browser();
  let res = await b.go(authorize.toString());
  for (let hops = 0; hops < 12; hops++) {
    if (res.status >= 300 && res.status < 400) {
      const next = new URL(res.headers.get('location')!, issuer);
      if (next.toString().startsWith(`${PUBLIC_URL}/auth/oidc/callback`)) {
        return t.app.inject({ method: 'GET', url: next.pathname + next.search, headers: { accept } });
      }
      res = await b.go(next.toString());
      continue;
    }
    const page = await res.text();
    const url = res.url;
    const form = new URLSearchParams(
      page.includes('name="prompt" value="login"')
        ? { prompt: 'login', login, password: 'any' }
        : { prompt: 'consent' },
    );
    res = await b.go(url, {
      method: 'POST',
      body: form.toString(),
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
  }
  throw new Error('the provider did not send the browser back');
}

function sessionFrom(res: Awaited<ReturnType<typeof signInThroughProvider>>): string {
  const c = res.cookies.find((x) => x.name === 'hearth_session');
  expect(c?.value).toBeTruthy();
  expect(c?.httpOnly).toBe(true);
  return c!.value;
}

describe('OpenID Connect sign-in against an in-process provider', () => {
  it('announces the provider to the sign-in page', async () => {
    const res = await t.app.inject({ method: 'GET', url: '/auth/providers' });
    expect(res.json()).toEqual({
      local: true,
      oidc: { name: 'Ministry SSO', login_url: '/auth/oidc/login' },
    });
  });

  it('a good sign-in provisions the user from the claims, sets the cookie and returns to the console', async () => {
    const login = `wanjiru-${randomBytes(3).toString('hex')}`;
    accounts[login] = {
      preferred_username: login,
      name: 'Wanjiru Kamau',
      email: `${login}@health.example`,
      hearth_tenant: a.code,
      realm_access: { roles: ['hearth-registrar', 'offline_access'] },
    };
    const res = await signInThroughProvider(login);
    expect(res.statusCode, res.body).toBe(302);
    expect(res.headers.location).toBe('/console/persons?x=1');
    const cookie = sessionFrom(res);
    const session = await t.app.inject({
      method: 'GET',
      url: '/auth/session',
      cookies: { hearth_session: cookie },
    });
    expect(session.statusCode).toBe(200);
    expect(session.json()).toMatchObject({
      auth_method: 'oidc',
      user: { username: login, display_name: 'Wanjiru Kamau', tenant_id: a.tenantId, roles: ['registrar'] },
    });
    const s: TestSession = { cookie, csrf: session.json().csrf_token, body: session.json() };
    expect((await asUser(t.app, s, 'GET', '/api/v1/persons')).statusCode).toBe(200);
    expect((await asUser(t.app, s, 'GET', '/api/v1/audit-events')).statusCode).toBe(403);
    const listed = await call(t.app, a.admin.token, 'GET', '/api/v1/users');
    const user = listed.json().data.find((u: { username: string }) => u.username === login);
    expect(user).toMatchObject({
      auth_source: 'oidc',
      has_password: false,
      email: `${login}@health.example`,
    });

    // Role mapping follows the provider at the next sign-in.
    accounts[login].realm_access = { roles: ['hearth-auditor'] };
    const again = await signInThroughProvider(login);
    expect(again.statusCode, again.body).toBe(302);
    const next = await t.app.inject({
      method: 'GET',
      url: '/auth/session',
      cookies: { hearth_session: sessionFrom(again) },
    });
    expect(next.json().user.roles).toEqual(['auditor']);
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM users WHERE username = $1',
      [login],
    );
    expect(rows[0].n).toBe(1);
  });

  it('an unknown tenant claim is refused: back to the sign-in page, or 403 for an API caller', async () => {
    const login = `stranger-${randomBytes(3).toString('hex')}`;
    accounts[login] = { hearth_tenant: 'no-such-tenant', realm_access: { roles: ['hearth-registrar'] } };
    const res = await signInThroughProvider(login);
    expect(res.statusCode).toBe(302);
    expect(res.headers.location).toBe('/console/sign-in?error=unknown_tenant');
    expect(res.cookies.find((c) => c.name === 'hearth_session')).toBeUndefined();
    const api = await signInThroughProvider(login, '/console/', 'application/json');
    expect(api.statusCode).toBe(403);
    expect(api.headers['content-type']).toMatch(/problem\+json/);
    expect(api.json().reason).toBe('unknown_tenant');
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM users WHERE username = $1',
      [login],
    );
    expect(rows[0].n).toBe(0);
  });

  it('claims that map to no Hearth role are refused', async () => {
    const login = `norole-${randomBytes(3).toString('hex')}`;
    accounts[login] = {
      hearth_tenant: a.code,
      realm_access: { roles: ['offline_access', 'uma_authorization'] },
    };
    const res = await signInThroughProvider(login);
    expect(res.headers.location).toBe('/console/sign-in?error=no_role');
  });

  it('a deactivated user is refused even when the provider signs it in', async () => {
    const login = `leaver-${randomBytes(3).toString('hex')}`;
    accounts[login] = { hearth_tenant: a.code, realm_access: { roles: ['hearth-auditor'] } };
    expect((await signInThroughProvider(login)).statusCode).toBe(302);
    const { rows } = await t.db.query<{ id: string }>('SELECT id FROM users WHERE username = $1', [login]);
    expect(
      (await call(t.app, a.admin.token, 'POST', `/api/v1/users/${rows[0].id}/deactivate`)).statusCode,
    ).toBe(200);
    const res = await signInThroughProvider(login);
    expect(res.headers.location).toBe('/console/sign-in?error=inactive');
  });

  it('a replayed or forged callback is refused', async () => {
    const forged = await t.app.inject({
      method: 'GET',
      url: '/auth/oidc/callback?code=abc&state=forged',
      headers: { accept: 'text/html' },
    });
    expect(forged.headers.location).toBe('/console/sign-in?error=invalid_state');
  });
});

describe('OIDC helpers', () => {
  it('accepts only same-origin relative return paths', () => {
    expect(safeReturnTo('/console/households/1?tab=a#b')).toBe('/console/households/1?tab=a#b');
    for (const bad of [
      '//evil.example/x',
      'https://evil.example/',
      '/\\evil.example',
      'console',
      '',
      undefined,
    ]) {
      expect(safeReturnTo(bad)).toBe('/console/');
    }
  });

  it('maps provider roles through the map or by name, and keeps root alone', () => {
    expect(mapRoles(['hearth-registrar', 'auditor', 'x'], { 'hearth-registrar': 'registrar' })).toEqual([
      'registrar',
      'auditor',
    ]);
    expect(mapRoles('reviewer approver', {})).toEqual(['reviewer', 'approver']);
    expect(mapRoles(['root', 'registrar'], {})).toEqual(['root']);
    expect(mapRoles(undefined, {})).toEqual([]);
  });
});
