import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { call } from './tenant.js';

/** A browser session in tests: the cookie value and the CSRF token the session answered with. */
export interface TestSession {
  cookie: string;
  csrf: string;
  body: Record<string, unknown> & { user: Record<string, unknown> };
}

export function sessionCookieOf(res: LightMyRequestResponse): string | null {
  const c = res.cookies.find((x) => x.name === 'hearth_session');
  return c?.value ? c.value : null;
}

export function login(
  app: FastifyInstance,
  username: string,
  password: string,
  totp?: string,
): Promise<LightMyRequestResponse> {
  return app.inject({
    method: 'POST',
    url: '/auth/login',
    payload: { username, password, ...(totp ? { totp } : {}) },
  });
}

export async function signIn(
  app: FastifyInstance,
  username: string,
  password: string,
  totp?: string,
): Promise<TestSession> {
  const res = await login(app, username, password, totp);
  expect(res.statusCode, res.body).toBe(200);
  const cookie = sessionCookieOf(res);
  expect(cookie).toBeTruthy();
  const body = res.json();
  return { cookie: cookie!, csrf: body.csrf_token, body };
}

/** A request made by the browser of a signed-in person: cookie, and the CSRF header unless told not to. */
export function asUser(
  app: FastifyInstance,
  s: TestSession,
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
  options: { csrf?: boolean; headers?: Record<string, string> } = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    cookies: { hearth_session: s.cookie },
    headers: { ...(options.csrf === false ? {} : { 'x-csrf-token': s.csrf }), ...options.headers },
    ...(payload !== undefined ? { payload: payload as InjectOptions['payload'] } : {}),
  });
}

/** Creates a user through the API with a known password (as a tenant admin or ROOT token). */
export async function createUser(
  app: FastifyInstance,
  adminToken: string,
  body: Record<string, unknown>,
): Promise<{ user_id: string; username: string; password: string }> {
  const password = (body.password as string | undefined) ?? `pw-${Math.random().toString(36).slice(2)}-Zq9!x`;
  const res = await call(app, adminToken, 'POST', '/api/v1/users', { password, ...body });
  expect(res.statusCode, res.body).toBe(201);
  return { user_id: res.json().user_id, username: res.json().username, password };
}
