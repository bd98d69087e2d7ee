// Benchmark cases: each drives one Hearth route and the equivalent bare route of bench/baseline.ts.
import type { FastifyReply } from 'fastify';
import type pg from 'pg';

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
}

export interface BenchCase {
  name: string;
  /** Prepares data once before the case runs. */
  setup?: (ctx: BenchContext) => Promise<void>;
  hearth: (ctx: BenchContext) => RequestSpec;
  baseline: (ctx: BenchContext) => RequestSpec;
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

export const baselineRoutes: BaselineRoute[] = [
  { method: 'GET', url: '/healthz', handle: async () => ({ status: 'ok' }) },
  {
    method: 'GET',
    url: '/readyz',
    handle: async (pool) => {
      await pool.query('SELECT version FROM schema_migrations');
      return { status: 'ok' };
    },
  },
];

export const cases: BenchCase[] = [
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
];
