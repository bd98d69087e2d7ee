// npx tsx bench/stats.ts [--persons 1000000] [--runs 30]
// Dashboard statistics on a large registry (issue 16): latency of each /api/v1/stats endpoint.
//
// With BENCH_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) it recreates a
// `hearth_bench_stats` database on that server; without it, it runs on in-memory PGlite. Hearth
// runs in this process; persons, households and consents are seeded with bulk SQL (the counter
// triggers of migration 0060 run as for any write), a second tenant's rows sit beside them, and
// each endpoint is called sequentially --runs times by the tenant's admin after one warm-up call.
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { api, openBenchDb, token } from './http-kit.js';

const { values: args } = parseArgs({
  options: { persons: { type: 'string', default: '1000000' }, runs: { type: 'string', default: '30' } },
});
const N = Number(args.persons);
const RUNS = Math.max(1, Number(args.runs));
const ROOT = { id: 'bench-root', secret: 'bench-root-secret-0123456789' };
const ENDPOINTS = ['persons', 'households', 'consents', 'imports', 'integrations'];

const openDb = () => openBenchDb('hearth_bench_stats');

/** A tenant, its admin's token and its HEALTH vertical. */
async function tenant(base: string, root: string, code: string) {
  const t = await api(base, root, 'POST', '/api/v1/tenants', { name: code, code });
  const c = await api(base, root, 'POST', '/api/v1/clients', {
    name: 'admin',
    tenant_id: t.tenant_id,
    roles: ['tenant_admin'],
  });
  const admin = await token(base, c.client_id, c.client_secret);
  const { data } = await api<{ data: { code: string; vertical_id: string }[] }>(
    base,
    admin,
    'GET',
    '/api/v1/verticals',
  );
  return {
    tenantId: t.tenant_id as string,
    admin,
    health: data.find((v) => v.code === 'HEALTH')!.vertical_id,
  };
}

/**
 * n persons (a third verified, one in fifty archived, two genders, ages 0-90, registered over the
 * last 18 months), a household per four persons, a HEALTH consent per two (windows ending over
 * the next year; one in ten already expired, some of those in grace), 10,000 persons per statement.
 */
async function seed(db: Database, tenantId: string, verticalId: string, n: number): Promise<void> {
  const SLICE = 10_000;
  for (let from = 1; from <= n; from += SLICE) {
    const to = Math.min(n, from + SLICE - 1);
    await db.transaction(async (tx) => {
      await tx.query(
        `CREATE TEMP TABLE seed ON COMMIT DROP AS
           SELECT g, gen_random_uuid() AS id FROM generate_series($1::int, $2::int) AS g`,
        [from, to],
      );
      await tx.query(
        `INSERT INTO persons (tenant_id, id, system_guid, full_name, date_of_birth, gender, verification_status,
           status, archived_at, created_at, created_by, collection_method)
         SELECT $1, id, gen_random_uuid(), 'Person ' || g, current_date - (g % 33000), (g % 2 + 1)::text,
                CASE WHEN g % 3 = 0 THEN 'verified' ELSE 'provisional' END,
                CASE WHEN g % 50 = 0 THEN 'archived' ELSE 'active' END,
                CASE WHEN g % 50 = 0 THEN now() END,
                now() - make_interval(days => g % 540), 'bench', 'bench'
           FROM seed`,
        [tenantId],
      );
      await tx.query(
        `INSERT INTO households (tenant_id, id, household_name, leader_id, status, created_by)
         SELECT $1, gen_random_uuid(), 'Household ' || g, id,
                CASE WHEN g % 12 = 0 THEN 'verified' ELSE 'provisional' END, 'bench'
           FROM seed WHERE g % 4 = 0`,
        [tenantId],
      );
      await tx.query(
        `INSERT INTO consents (tenant_id, id, person_id, vertical_id, status, active_from, active_until, grace_until,
           capture_mode, captured_by)
         SELECT $1, gen_random_uuid(), id, $2, s.status, now() - interval '400 days', s.until, s.until + interval '30 days',
                'online', 'bench'
           FROM seed,
                LATERAL (SELECT CASE WHEN g % 20 = 0 THEN 'expired' ELSE 'active' END AS status,
                                CASE WHEN g % 20 = 0 THEN now() - make_interval(days => g % 60)
                                     ELSE now() + make_interval(days => 1 + g % 365) END AS until) s
          WHERE g % 2 = 0`,
        [tenantId, verticalId],
      );
    });
  }
  // A registry at rest has been vacuumed: without it the first reads after a bulk load race
  // autovacuum and set hint bits, which measures the load, not the statistics.
  await db.exec('VACUUM ANALYZE');
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

async function main(): Promise<void> {
  const { db, url } = await openDb();
  await migrate(db);
  const config = loadConfig({
    DATABASE_URL: url ?? 'memory://',
    LOG_LEVEL: 'warn',
    HEARTH_WORKERS: 'false',
    HEARTH_RATE_LIMIT_PER_MINUTE: '1000000',
    HEARTH_ROOT_CLIENT_ID: ROOT.id,
    HEARTH_ROOT_CLIENT_SECRET: ROOT.secret,
  });
  const app = await buildApp({ config, db });
  await app.listen({ port: 0, host: '127.0.0.1' });
  await app.hearth.services.clients.ensureRootClient(ROOT.id, ROOT.secret);
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  try {
    const root = await token(base, ROOT.id, ROOT.secret);
    const main = await tenant(base, root, `bench-${Date.now()}`);
    const other = await tenant(base, root, `other-${Date.now()}`);
    const seedStart = performance.now();
    await seed(db, main.tenantId, main.health, N);
    const seedMs = performance.now() - seedStart;
    await seed(db, other.tenantId, other.health, Math.min(N, 10_000));

    const engine = url ? 'PostgreSQL' : 'PGlite';
    const lines = [
      `dashboard statistics, ${engine}: ${N} persons (+ ${Math.min(N, 10_000)} in another tenant), seeded in ${(seedMs / 1000).toFixed(1)} s`,
    ];
    for (const what of ENDPOINTS) {
      const path = `/api/v1/stats/${what}`;
      const first = await api<Record<string, unknown>>(base, main.admin, 'GET', path);
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) {
        const t0 = performance.now();
        await api(base, main.admin, 'GET', path);
        times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const ms = (n: number) => n.toFixed(1).padStart(6);
      lines.push(
        `  ${path.padEnd(28)} p50 ${ms(pct(times, 50))} ms  p95 ${ms(pct(times, 95))} ms  max ${ms(times.at(-1)!)} ms`,
      );
      if (what === 'persons' && first.total !== N)
        throw new Error(`persons total ${first.total}, expected ${N}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await app.close();
    await db.close();
  }
}

await main();
