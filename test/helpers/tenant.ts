import { randomBytes } from 'node:crypto';
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { expect } from 'vitest';
import { TEST_ROOT, type TestApp } from './app.js';

export interface IssuedTestClient {
  clientId: string;
  secret: string;
  token: string;
}

export interface ClientOptions {
  roles: string[];
  scopes?: string[];
  vertical_ids?: string[];
  allowed_programs?: string[];
  rate_limit_per_minute?: number;
  consent_bound?: boolean;
  name?: string;
}

export interface TestTenant {
  tenantId: string;
  code: string;
  verticals: Record<string, string>;
  admin: IssuedTestClient;
  /** Creates a client of this tenant (through the API, as its admin) and a token for it. */
  client(options: ClientOptions): Promise<IssuedTestClient>;
}

export async function tokenFor(
  app: FastifyInstance,
  clientId: string,
  secret: string,
  scope?: string,
): Promise<string> {
  const res = await app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: {
      grant_type: 'client_credentials',
      client_id: clientId,
      client_secret: secret,
      ...(scope ? { scope } : {}),
    },
  });
  expect(res.statusCode, res.body).toBe(200);
  return res.json().access_token;
}

const rootTokens = new WeakMap<FastifyInstance, string>();
export async function rootToken(app: FastifyInstance): Promise<string> {
  let token = rootTokens.get(app);
  if (!token) {
    token = await tokenFor(app, TEST_ROOT.id, TEST_ROOT.secret);
    rootTokens.set(app, token);
  }
  return token;
}

/** A request with a bearer token; JSON body by default. */
export function call(
  app: FastifyInstance,
  token: string | null,
  method: InjectOptions['method'],
  url: string,
  payload?: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return app.inject({
    method,
    url,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    ...(payload !== undefined ? { payload: payload as InjectOptions['payload'] } : {}),
  });
}

export async function createClientAs(app: FastifyInstance, token: string, body: Record<string, unknown>) {
  const res = await call(app, token, 'POST', '/api/v1/clients', body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { client_id: string; client_secret: string };
}

/** A fresh tenant with a tenant admin and a way to mint more clients; unique per call. */
export async function createTestTenant(
  t: TestApp,
  settings: Record<string, unknown> = {},
): Promise<TestTenant> {
  const app = t.app;
  const root = await rootToken(app);
  const code = `t-${randomBytes(5).toString('hex')}`;
  // Test tenants are one-admin "small teams" that relax separation of duties unless a test asks
  // for it (decision 0012); test/separation.test.ts covers the default.
  const res = await call(app, root, 'POST', '/api/v1/tenants', {
    name: `Tenant ${code}`,
    code,
    settings: { separation_of_duties: false, ...settings },
  });
  expect(res.statusCode, res.body).toBe(201);
  const tenantId: string = res.json().tenant_id;
  const adminCreds = await createClientAs(app, root, {
    name: 'admin',
    tenant_id: tenantId,
    roles: ['tenant_admin'],
  });
  const admin = {
    clientId: adminCreds.client_id,
    secret: adminCreds.client_secret,
    token: await tokenFor(app, adminCreds.client_id, adminCreds.client_secret),
  };
  const vres = await call(app, admin.token, 'GET', '/api/v1/verticals');
  const verticals: Record<string, string> = {};
  for (const v of vres.json().data) verticals[v.code] = v.vertical_id;
  return {
    tenantId,
    code,
    verticals,
    admin,
    async client(options) {
      const creds = await createClientAs(app, admin.token, {
        name: options.name ?? options.roles.join('+'),
        ...options,
      });
      return {
        clientId: creds.client_id,
        secret: creds.client_secret,
        token: await tokenFor(app, creds.client_id, creds.client_secret),
      };
    },
  };
}
