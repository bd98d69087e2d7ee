// Benchmark cases: each drives one Hearth route and the equivalent bare route of bench/baseline.ts.
import type { FastifyReply } from 'fastify';
import type pg from 'pg';
import { consentCases } from './consent-cases.js';
import { registryBaselineRoutes, registryCases } from './registry-cases.js';

export interface BenchContext {
  hearthUrl: string;
  /** Headers for authenticated Hearth requests (filled in by setup steps). */
  auth: Record<string, string>;
  state: Record<string, string>;
  databaseUrl: string;
}

export interface RequestSpec {
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** A fresh body per request (e.g. unique identity numbers for creates). */
  makeBody?: () => string;
}

export interface BenchCase {
  name: string;
  /** Prepares data once before the case runs. */
  setup?: (ctx: BenchContext) => Promise<void>;
  hearth: (ctx: BenchContext) => RequestSpec;
  baseline: (ctx: BenchContext) => RequestSpec;
  /** The "baseline" request goes to Hearth too: an A/B case inside Hearth (e.g. with/without consent). */
  baselineOnHearth?: boolean;
}

export interface BaselineRoute {
  method: 'GET' | 'POST';
  url: string;
  handle: (
    pool: pg.Pool,
    params: Record<string, string>,
    body: unknown,
    reply: FastifyReply,
  ) => Promise<unknown>;
}

export async function post(
  ctx: BenchContext,
  path: string,
  body: unknown,
  token?: string,
): Promise<Record<string, unknown>> {
  const res = await fetch(ctx.hearthUrl + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as Record<string, unknown>;
}

export async function token(ctx: BenchContext, clientId: string, secret: string): Promise<string> {
  const t = await post(ctx, '/oauth/token', {
    grant_type: 'client_credentials',
    client_id: clientId,
    client_secret: secret,
  });
  return t.access_token as string;
}

/** A tenant with an admin and a registrar token, made once per run (ctx.state.tenant_id…). */
export async function ensureTenant(ctx: BenchContext): Promise<void> {
  if (ctx.state.tenant_id) return;
  const root = await token(ctx, 'bench-root', 'bench-root-secret-0123456789');
  const tenant = await post(ctx, '/api/v1/tenants', { name: 'Bench', code: `bench-${Date.now()}` }, root);
  const tenantId = tenant.tenant_id as string;
  const admin = await post(
    ctx,
    '/api/v1/clients',
    { name: 'admin', tenant_id: tenantId, roles: ['tenant_admin'] },
    root,
  );
  // A second admin verifies what the first registers: separation of duties refuses self-verification.
  const verifier = await post(
    ctx,
    '/api/v1/clients',
    { name: 'verifier', tenant_id: tenantId, roles: ['tenant_admin'] },
    root,
  );
  ctx.state.tenant_id = tenantId;
  ctx.state.admin_token = await token(ctx, admin.client_id as string, admin.client_secret as string);
  ctx.state.verifier_token = await token(ctx, verifier.client_id as string, verifier.client_secret as string);
  ctx.auth = { authorization: `Bearer ${ctx.state.admin_token}` };
}

export const baselineRoutes: BaselineRoute[] = [
  ...registryBaselineRoutes,
  { method: 'GET', url: '/healthz', handle: async () => ({ status: 'ok' }) },
  {
    method: 'GET',
    url: '/readyz',
    handle: async (pool) => {
      await pool.query('SELECT version FROM schema_migrations');
      return { status: 'ok' };
    },
  },
  {
    method: 'GET',
    url: '/verticals/:tenant_id',
    handle: async (pool, params) => {
      const { rows } = await pool.query(
        'SELECT id AS vertical_id, code, name, is_system, created_at FROM verticals WHERE tenant_id = $1 ORDER BY is_system DESC, code',
        [params.tenant_id],
      );
      return { data: rows };
    },
  },
];

export const cases: BenchCase[] = [
  ...registryCases,
  ...consentCases,
  {
    name: 'GET /healthz',
    hearth: () => ({ method: 'GET', path: '/healthz' }),
    baseline: () => ({ method: 'GET', path: '/healthz' }),
  },
  {
    name: 'GET /readyz (trivial db read)',
    hearth: () => ({ method: 'GET', path: '/readyz' }),
    baseline: () => ({ method: 'GET', path: '/readyz' }),
  },
  {
    name: 'GET /api/v1/verticals (authenticated read)',
    setup: ensureTenant,
    hearth: (ctx) => ({ method: 'GET', path: '/api/v1/verticals', headers: ctx.auth }),
    baseline: (ctx) => ({ method: 'GET', path: `/verticals/${ctx.state.tenant_id}` }),
  },
];
