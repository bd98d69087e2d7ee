import { randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { asUser, createUser, login, sessionCookieOf, signIn } from './helpers/session.js';
import { call, createTestTenant, rootToken, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;

beforeAll(async () => {
  t = await createTestApp({ HEARTH_LOGIN_MAX_FAILURES: '3', HEARTH_LOGIN_LOCKOUT_SECONDS: '60' });
  a = await createTestTenant(t);
});
afterAll(() => t?.close());

const uname = (p: string) => `${p}-${randomBytes(4).toString('hex')}`;

describe('local sign-in', () => {
  it('signs in with JSON, sets an HttpOnly SameSite cookie, and answers the session contract', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('amina'), roles: ['registrar'] });
    const res = await login(t.app, u.username.toUpperCase(), u.password);
    expect(res.statusCode, res.body).toBe(200);
    const setCookie = String(res.headers['set-cookie']);
    expect(setCookie).toMatch(/hearth_session=/);
    expect(setCookie).toMatch(/HttpOnly/i);
    expect(setCookie).toMatch(/SameSite=Lax/i);
    expect(setCookie).toMatch(/Path=\//);
    // http://localhost public URL: not Secure (development).
    expect(setCookie).not.toMatch(/Secure/i);
    const body = res.json();
    expect(body.user).toMatchObject({
      id: u.user_id,
      username: u.username,
      tenant_id: a.tenantId,
      tenant_code: a.code,
      roles: ['registrar'],
      is_root: false,
    });
    expect(body.user.scopes).toContain('persons:write');
    expect(body.csrf_token).toMatch(/^[A-Za-z0-9_-]{32,}$/);
    expect(Date.parse(body.expires_at)).toBeGreaterThan(Date.parse(body.idle_expires_at) - 1);
    const session = await t.app.inject({
      method: 'GET',
      url: '/auth/session',
      cookies: { hearth_session: sessionCookieOf(res)! },
    });
    expect(session.statusCode).toBe(200);
    expect(session.json().user.id).toBe(u.user_id);
    expect(session.json().csrf_token).toBe(body.csrf_token);
    // The cookie's token is not what the database keeps.
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM user_sessions WHERE token_hash = convert_to($1, $2)',
      [sessionCookieOf(res), 'UTF8'],
    );
    expect(rows[0].n).toBe(0);
  });

  it('signs in with a form body too', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('form'), roles: ['auditor'] });
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({ username: u.username, password: u.password }).toString(),
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(sessionCookieOf(res)).toBeTruthy();
  });

  it('wrong password and unknown user get the same 401 that does not say which part was wrong', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('wrong'), roles: ['auditor'] });
    const wrong = await login(t.app, u.username, 'not-the-password-at-all');
    const unknown = await login(t.app, uname('nobody'), u.password);
    for (const res of [wrong, unknown]) {
      expect(res.statusCode).toBe(401);
      expect(res.headers['content-type']).toMatch(/application\/problem\+json/);
      expect(res.json().code).toBe('ERR_AUTH_INVALID');
      expect(sessionCookieOf(res)).toBeNull();
    }
    expect(wrong.json().detail).toBe(unknown.json().detail);
    const none = await t.app.inject({ method: 'GET', url: '/auth/session' });
    expect(none.statusCode).toBe(401);
    expect(none.json().code).toBe('ERR_AUTH_INVALID');
  });

  it('refuses unknown fields and an empty body with 4xx and signs nobody in', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/auth/login',
      payload: { username: 'x', password: 'y', remember: true },
    });
    expect(res.statusCode).toBe(422);
    expect((await t.app.inject({ method: 'POST', url: '/auth/login', payload: {} })).statusCode).toBe(422);
  });

  it('locks the account after repeated failures, with Retry-After, even for the right password', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('lock'), roles: ['auditor'] });
    for (let i = 0; i < 3; i++)
      expect((await login(t.app, u.username, `bad-${i}-password`)).statusCode).toBe(401);
    const locked = await login(t.app, u.username, u.password);
    expect(locked.statusCode).toBe(429);
    expect(locked.json().code).toBe('ERR_AUTH_LOCKED');
    expect(Number(locked.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(locked.headers['retry-after'])).toBeLessThanOrEqual(60);
    // Backoff: a failure after the first lockout ends locks for twice as long.
    await t.db.query(`UPDATE users SET locked_until = now() - interval '1 second' WHERE id = $1`, [
      u.user_id,
    ]);
    expect((await login(t.app, u.username, 'bad-again-password')).statusCode).toBe(401);
    const longer = await login(t.app, u.username, u.password);
    expect(longer.statusCode).toBe(429);
    expect(Number(longer.headers['retry-after'])).toBeGreaterThan(60);
    const view = await call(t.app, a.admin.token, 'GET', `/api/v1/users/${u.user_id}`);
    expect(view.json().locked_until).not.toBeNull();
    // An administrator lifts the lockout.
    const unlock = await call(t.app, a.admin.token, 'PATCH', `/api/v1/users/${u.user_id}`, { unlock: true });
    expect(unlock.statusCode, unlock.body).toBe(200);
    expect((await login(t.app, u.username, u.password)).statusCode).toBe(200);
  });

  it('refuses a short or common password when creating a user', async () => {
    for (const password of ['short', 'password1234', 'QwertyUiop123', 'administrator']) {
      const res = await call(t.app, a.admin.token, 'POST', '/api/v1/users', {
        username: uname('weak'),
        roles: ['auditor'],
        password,
      });
      expect(res.statusCode, password).toBe(422);
      expect(res.json().errors[0].field).toBe('password');
    }
  });
});

describe('one-time passwords', () => {
  it('a user created without a password gets a one-time password that must be replaced first', async () => {
    const res = await call(t.app, a.admin.token, 'POST', '/api/v1/users', {
      username: uname('otp'),
      roles: ['registrar'],
    });
    expect(res.statusCode, res.body).toBe(201);
    const { username, one_time_password: otp, password_must_change } = res.json();
    expect(password_must_change).toBe(true);
    const s = await signIn(t.app, username, otp);
    expect(s.body.restriction).toBe('password_change');
    const blocked = await asUser(t.app, s, 'GET', '/api/v1/persons');
    expect(blocked.statusCode).toBe(403);
    expect(blocked.json().code).toBe('ERR_AUTH_SESSION_RESTRICTED');
    const weak = await asUser(t.app, s, 'POST', '/auth/password', {
      current_password: otp,
      new_password: 'password1234',
    });
    expect(weak.statusCode).toBe(422);
    const changed = await asUser(t.app, s, 'POST', '/auth/password', {
      current_password: otp,
      new_password: 'a much better passphrase 42',
    });
    expect(changed.statusCode, changed.body).toBe(200);
    expect(changed.json().restriction).toBeNull();
    expect((await asUser(t.app, s, 'GET', '/api/v1/persons')).statusCode).toBe(200);
    expect((await login(t.app, username, otp)).statusCode).toBe(401);
    expect((await login(t.app, username, 'a much better passphrase 42')).statusCode).toBe(200);
  });
});

describe('TOTP second factor', () => {
  it('enrols, then requires the code, refuses a wrong or replayed code', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('totp'), roles: ['auditor'] });
    const s = await signIn(t.app, u.username, u.password);
    const setup = await asUser(t.app, s, 'POST', '/auth/totp/setup');
    expect(setup.statusCode, setup.body).toBe(200);
    const { secret, otpauth_uri } = setup.json();
    expect(otpauth_uri).toMatch(/^otpauth:\/\/totp\//);
    expect((await asUser(t.app, s, 'POST', '/auth/totp/confirm', { code: '000000' })).statusCode).toBe(422);
    const now = Math.floor(Date.now() / 1000);
    const confirm = await asUser(t.app, s, 'POST', '/auth/totp/confirm', {
      code: await generate({ secret, epoch: now }),
    });
    expect(confirm.statusCode, confirm.body).toBe(200);

    const missing = await login(t.app, u.username, u.password);
    expect(missing.statusCode).toBe(401);
    expect(missing.json().code).toBe('ERR_AUTH_TOTP_REQUIRED');
    expect(sessionCookieOf(missing)).toBeNull();
    const wrong = await login(t.app, u.username, u.password, '123456');
    expect(wrong.statusCode).toBe(401);
    expect(wrong.json().code).toBe('ERR_AUTH_INVALID');
    // The next time step's code (one step of drift is accepted); the confirmed step is used up.
    const next = await generate({ secret, epoch: now + 30 });
    expect((await login(t.app, u.username, u.password, next)).statusCode).toBe(200);
    const replay = await login(t.app, u.username, u.password, next);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('ERR_AUTH_INVALID');
  });

  it('a tenant that requires TOTP makes its people enrol before using the API', async () => {
    const strict = await createTestTenant(t, { require_totp: true });
    const u = await createUser(t.app, strict.admin.token, {
      username: uname('strict'),
      roles: ['registrar'],
    });
    const s = await signIn(t.app, u.username, u.password);
    expect(s.body.restriction).toBe('totp_enrolment');
    const blocked = await asUser(t.app, s, 'GET', '/api/v1/persons');
    expect(blocked.json().code).toBe('ERR_AUTH_SESSION_RESTRICTED');
    const { secret } = (await asUser(t.app, s, 'POST', '/auth/totp/setup')).json();
    const ok = await asUser(t.app, s, 'POST', '/auth/totp/confirm', { code: await generate({ secret }) });
    expect(ok.json().restriction).toBeNull();
    expect((await asUser(t.app, s, 'GET', '/api/v1/persons')).statusCode).toBe(200);
  });
});

describe('sessions', () => {
  it('ends after the idle timeout and after the absolute timeout', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('idle'), roles: ['auditor'] });
    const idle = await signIn(t.app, u.username, u.password);
    await t.db.query(
      `UPDATE user_sessions SET last_seen_at = now() - interval '31 minutes' WHERE user_id = $1`,
      [u.user_id],
    );
    const expired = await asUser(t.app, idle, 'GET', '/auth/session');
    expect(expired.statusCode).toBe(401);
    expect(expired.json().code).toBe('ERR_AUTH_EXPIRED');
    expect((await asUser(t.app, idle, 'GET', '/api/v1/persons')).statusCode).toBe(401);

    const busy = await signIn(t.app, u.username, u.password);
    expect((await asUser(t.app, busy, 'GET', '/api/v1/persons')).statusCode).toBe(200);
    await t.db.query(`UPDATE user_sessions SET expires_at = now() - interval '1 second' WHERE user_id = $1`, [
      u.user_id,
    ]);
    const ended = await asUser(t.app, busy, 'GET', '/api/v1/persons');
    expect(ended.statusCode).toBe(401);
    expect(ended.json().code).toBe('ERR_AUTH_EXPIRED');
  });

  it('logout takes a POST with no body, as browsers’ fetch clients send it', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('bare'), roles: ['auditor'] });
    const s = await signIn(t.app, u.username, u.password);
    const out = await t.app.inject({
      method: 'POST',
      url: '/auth/logout',
      cookies: { hearth_session: s.cookie },
      headers: { 'x-csrf-token': s.csrf, 'content-type': 'application/json' },
    });
    expect(out.statusCode, out.body).toBe(204);
  });

  it('logout needs the CSRF token, deletes the row and clears the cookie', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('out'), roles: ['auditor'] });
    const s = await signIn(t.app, u.username, u.password);
    const forged = await asUser(t.app, s, 'POST', '/auth/logout', undefined, { csrf: false });
    expect(forged.statusCode).toBe(403);
    expect(forged.json().code).toBe('ERR_SEC_CSRF');
    const out = await asUser(t.app, s, 'POST', '/auth/logout');
    expect(out.statusCode).toBe(204);
    expect(String(out.headers['set-cookie'])).toMatch(/hearth_session=;/);
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM user_sessions WHERE user_id = $1',
      [u.user_id],
    );
    expect(rows[0].n).toBe(0);
    expect((await asUser(t.app, s, 'GET', '/auth/session')).statusCode).toBe(401);
  });

  it('deactivating a user ends its sessions at once, in another process too', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('gone'), roles: ['registrar'] });
    const s = await signIn(t.app, u.username, u.password);
    // A second app over the same database stands for another server process.
    const other = await buildApp({ config: t.config, db: t.db });
    try {
      expect((await asUser(other, s, 'GET', '/api/v1/persons')).statusCode).toBe(200);
      const res = await call(t.app, a.admin.token, 'POST', `/api/v1/users/${u.user_id}/deactivate`);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json().active).toBe(false);
      for (const app of [t.app, other]) {
        const after = await asUser(app, s, 'GET', '/api/v1/persons');
        expect(after.statusCode).toBe(401);
      }
      expect((await login(t.app, u.username, u.password)).statusCode).toBe(401);
    } finally {
      await other.close();
    }
  });
});

describe('CSRF', () => {
  it('refuses a state-changing cookie request without the token; bearer requests need none', async () => {
    const u = await createUser(t.app, a.admin.token, { username: uname('csrf'), roles: ['tenant_admin'] });
    const s = await signIn(t.app, u.username, u.password);
    const body = { username: uname('made'), roles: ['auditor'], password: 'a long enough passphrase 7' };
    const without = await asUser(t.app, s, 'POST', '/api/v1/users', body, { csrf: false });
    expect(without.statusCode).toBe(403);
    expect(without.json().code).toBe('ERR_SEC_CSRF');
    const wrong = await asUser(t.app, s, 'POST', '/api/v1/users', body, {
      csrf: false,
      headers: { 'x-csrf-token': 'x'.repeat(43) },
    });
    expect(wrong.json().code).toBe('ERR_SEC_CSRF');
    const { rows } = await t.db.query<{ n: number }>(
      'SELECT count(*)::int AS n FROM users WHERE username = $1',
      [body.username],
    );
    expect(rows[0].n).toBe(0);
    // Reads need no token.
    expect((await asUser(t.app, s, 'GET', '/api/v1/users', undefined, { csrf: false })).statusCode).toBe(200);
    const ok = await asUser(t.app, s, 'POST', '/api/v1/users', body);
    expect(ok.statusCode, ok.body).toBe(201);
    // A bearer request carrying a stray cookie is judged by its token alone.
    const bearer = await t.app.inject({
      method: 'POST',
      url: '/api/v1/users',
      headers: { authorization: `Bearer ${a.admin.token}` },
      cookies: { hearth_session: s.cookie },
      payload: { ...body, username: uname('bearer') },
    });
    expect(bearer.statusCode, bearer.body).toBe(201);
  });
});

/** A concrete URL for a route pattern: every path parameter gets a well-formed id. */
const concrete = (url: string) =>
  url.replace(/:([a-z_]+)/g, (_m, name: string) =>
    name === 'client_id' ? 'hc_nonexistent' : '00000000-0000-4000-8000-000000000001',
  );

describe('route walk with a session cookie', () => {
  it('every state-changing route refuses the cookie without the CSRF token; every guarded route checks the person’s grant', async () => {
    const u = await createUser(t.app, a.admin.token, {
      username: uname('walker'),
      roles: ['approver'],
      scopes: ['vocabulary:read'],
    });
    const s = await signIn(t.app, u.username, u.password);
    const routes = t.app.hearth.routes.filter((r) => !r.auth || !('public' in r.auth && r.auth.public));
    let unsafe = 0;
    for (const r of routes) {
      if (r.method === 'GET' || r.method === 'HEAD' || r.method === 'OPTIONS') continue;
      unsafe++;
      const res = await asUser(t.app, s, r.method as 'POST', concrete(r.url), {}, { csrf: false });
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
      if (!r.url.startsWith('/api/v2') && !r.url.startsWith('/dci') && !r.url.startsWith('/g2p')) {
        expect(res.json().code, `${r.method} ${r.url}`).toBe('ERR_SEC_CSRF');
      }
    }
    expect(unsafe).toBeGreaterThan(20);
    for (const r of routes) {
      if (!r.auth || ('public' in r.auth && r.auth.public)) continue;
      const needs = [...(r.auth.scopes ?? [])].filter((x) => x !== 'vocabulary:read');
      if (needs.length === 0 && (r.auth.roles ?? []).length === 0) continue;
      const res = await asUser(
        t.app,
        s,
        r.method as 'GET',
        concrete(r.url),
        r.method === 'GET' ? undefined : {},
      );
      expect(res.statusCode, `${r.method} ${r.url}`).toBe(403);
    }
  });
});

describe('first administrator', () => {
  it('the cookie is Secure outside local development', () => {
    expect(loadConfig({ HEARTH_PUBLIC_URL: 'https://registry.example.gov' }).sessions.cookieSecure).toBe(
      true,
    );
    expect(loadConfig({ HEARTH_PUBLIC_URL: 'http://registry.example.gov' }).sessions.cookieSecure).toBe(true);
    expect(loadConfig({ HEARTH_PUBLIC_URL: 'http://127.0.0.1:8080' }).sessions.cookieSecure).toBe(false);
    expect(
      loadConfig({ HEARTH_PUBLIC_URL: 'https://registry.example.gov', NODE_ENV: 'development' }).sessions
        .cookieSecure,
    ).toBe(false);
  });

  it('HEARTH_ROOT_USERNAME/PASSWORD make a ROOT user who can act across tenants', async () => {
    const username = uname('root');
    const password = 'root password long enough 1';
    expect(await t.app.hearth.services.users.ensureRootUser(username, password)).toBe('created');
    expect(await t.app.hearth.services.users.ensureRootUser(username, password)).toBe('unchanged');
    const s = await signIn(t.app, username, password);
    expect(s.body.user).toMatchObject({ is_root: true, tenant_id: null, roles: ['root'] });
    const tenants = await asUser(t.app, s, 'GET', '/api/v1/tenants');
    expect(tenants.statusCode).toBe(200);
    const users = await asUser(t.app, s, 'GET', `/api/v1/users?tenant_id=${a.tenantId}`);
    expect(users.statusCode).toBe(200);
    expect(users.json().data.length).toBeGreaterThan(0);
    expect(await t.app.hearth.services.users.ensureRootUser(username, 'a different root password')).toBe(
      'updated',
    );
    expect((await asUser(t.app, s, 'GET', '/api/v1/tenants')).statusCode).toBe(401);
    await rootToken(t.app);
  });
});
