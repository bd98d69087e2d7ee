// npx tsx bench/exchange-pull.ts [--persons 100000] [--pages 1]
// One integration pull of N consented persons as CSV (issue 7): rows/s and peak memory.
//
// With BENCH_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) it recreates a
// `hearth_bench_exchange` database on that server; without it, it runs on in-memory PGlite.
// Hearth runs in this process (so memory figures cover server and reader; the reader keeps
// nothing), persons are seeded with bulk SQL, the integration and its contract go through the API.
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { api, openBenchDb, token } from './http-kit.js';

const { values: args } = parseArgs({
  options: { persons: { type: 'string', default: '100000' }, pages: { type: 'string', default: '1' } },
});
const N = Number(args.persons);
const PAGES = Math.max(1, Number(args.pages));
const ROOT = { id: 'bench-root', secret: 'bench-root-secret-0123456789' };

const openDb = () => openBenchDb('hearth_bench_exchange');

/** Persons with one identity, one phone and an active HEALTH consent each, 10,000 per statement. */
async function seed(db: Database, tenantId: string, verticalId: string): Promise<void> {
  const SLICE = 10_000;
  for (let from = 1; from <= N; from += SLICE) {
    const to = Math.min(N, from + SLICE - 1);
    await db.transaction(async (tx) => {
      await tx.query(
        `CREATE TEMP TABLE seed ON COMMIT DROP AS
           SELECT g, gen_random_uuid() AS id FROM generate_series($1::int, $2::int) AS g`,
        [from, to],
      );
      await tx.query(
        `INSERT INTO persons (tenant_id, id, system_guid, full_name, given_name, family_name, date_of_birth,
           gender, verification_status, created_by, collection_method)
         SELECT $1, id, gen_random_uuid(), 'Person ' || g, 'Given' || g, 'Family' || g,
                DATE '1950-01-01' + (g % 20000), (g % 2 + 1)::text, 'verified', 'bench', 'bench'
           FROM seed`,
        [tenantId],
      );
      await tx.query(
        `INSERT INTO person_identities (tenant_id, id, person_id, identity_type, identity_number, identity_key)
         SELECT $1, gen_random_uuid(), id, 'national_id', 'B-' || g, 'B' || g FROM seed`,
        [tenantId],
      );
      await tx.query(
        `INSERT INTO person_contacts (tenant_id, id, person_id, type, value, value_key, is_primary)
         SELECT $1, gen_random_uuid(), id, 'phone', '+2547' || lpad(g::text, 8, '0'), '+2547' || lpad(g::text, 8, '0'), true
           FROM seed`,
        [tenantId],
      );
      await tx.query(
        `INSERT INTO consents (tenant_id, id, person_id, vertical_id, status, active_from, capture_mode, captured_by)
         SELECT $1, gen_random_uuid(), id, $2, 'active', now() - interval '1 day', 'online', 'bench' FROM seed`,
        [tenantId, verticalId],
      );
    });
  }
  await db.exec('ANALYZE');
}

/** A tenant, an active integration with a contract requiring HEALTH consent, and its token. */
async function setup(base: string) {
  const root = await token(base, ROOT.id, ROOT.secret);
  const tenant = await api(base, root, 'POST', '/api/v1/tenants', {
    name: 'Bench',
    code: `bench-${Date.now()}`,
  });
  const tenantId = tenant.tenant_id as string;
  const client = async (roles: string[]) => {
    const c = await api(base, root, 'POST', '/api/v1/clients', {
      name: roles.join('+'),
      tenant_id: tenantId,
      roles,
    });
    return token(base, c.client_id, c.client_secret);
  };
  const [admin, reviewer, approver] = await Promise.all([
    client(['tenant_admin']),
    client(['reviewer']),
    client(['approver']),
  ]);
  const { data: verticals } = await api<{ data: { code: string; vertical_id: string }[] }>(
    base,
    admin,
    'GET',
    '/api/v1/verticals',
  );
  const health = verticals.find((v) => v.code === 'HEALTH')!.vertical_id;
  const i = await api(base, admin, 'POST', '/api/v1/integrations', {
    integration_name: 'Bench partner',
    partner_name: 'Bench',
    partner_type: 'government',
    vertical_ids: [health],
    active_from: new Date(Date.now() - 3600_000).toISOString(),
  });
  const id = i.integration_id as string;
  await api(base, admin, 'POST', `/api/v1/integrations/${id}/request-review`, {
    request_reason_code: 'ROUTINE_REVIEW',
  });
  await api(base, reviewer, 'POST', `/api/v1/integrations/${id}/review`, {});
  await api(base, approver, 'POST', `/api/v1/integrations/${id}/approve`, {
    approval_reason_code: 'ROUTINE_REVIEW',
  });
  const activated = await api(base, admin, 'POST', `/api/v1/integrations/${id}/activate`, {});
  const contract = await api(base, admin, 'POST', `/api/v1/integrations/${id}/contracts`, {
    purpose: 'Benchmark',
    data_categories: ['person'],
    field_list: [
      'person_id',
      'full_name',
      'given_name',
      'family_name',
      'date_of_birth',
      'gender',
      'identities',
      'contacts',
    ],
    consent_requirements: { vertical_ids: [health] },
    active_from: new Date(Date.now() - 3600_000).toISOString(),
  });
  await api(base, admin, 'POST', `/api/v1/integrations/${id}/contracts/${contract.contract_id}/activate`, {});
  return {
    tenantId,
    health,
    integrationId: id,
    contractId: contract.contract_id as string,
    token: await token(base, activated.auth_client_id, activated.client_secret),
  };
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
    const s = await setup(base);
    const seedStart = performance.now();
    await seed(db, s.tenantId, s.health);
    const seedMs = performance.now() - seedStart;

    global.gc?.();
    const before = process.memoryUsage();
    let peakRss = before.rss;
    let peakHeap = before.heapUsed;
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakHeap = Math.max(peakHeap, m.heapUsed);
    }, 20);

    // With --expose-gc, the live heap after a collection every 5,000 rows: flat when nothing is retained.
    const live: number[] = [];
    let rows = 0;
    let bytes = 0;
    let cursor: string | null = null;
    const limit = Math.ceil(N / PAGES);
    const start = performance.now();
    for (let page = 0; page < PAGES; page++) {
      const q = new URLSearchParams({ contract_id: s.contractId, format: 'csv', limit: String(limit) });
      if (cursor) q.set('cursor', cursor);
      const res = await fetch(`${base}/api/v1/integrations/${s.integrationId}/data/pull?${q}`, {
        headers: { authorization: `Bearer ${s.token}` },
      });
      if (!res.ok || !res.body) throw new Error(`pull: ${res.status} ${await res.text()}`);
      cursor = res.headers.get('x-next-cursor');
      let lines = 0;
      for await (const chunk of res.body) {
        bytes += chunk.byteLength;
        const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        const was = lines;
        for (let i = buf.indexOf(10); i !== -1; i = buf.indexOf(10, i + 1)) lines++;
        if (global.gc && Math.floor(lines / 5000) !== Math.floor(was / 5000)) {
          global.gc();
          live.push(process.memoryUsage().heapUsed);
        }
      }
      rows += lines - 1; // header row
      if (!cursor) break;
    }
    const ms = performance.now() - start;
    clearInterval(sampler);
    const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
    const engine = url ? 'PostgreSQL' : 'PGlite';
    process.stdout.write(
      [
        `exchange pull, CSV, ${engine}: ${N} consented persons seeded in ${(seedMs / 1000).toFixed(1)} s`,
        `  rows ${rows} in ${(ms / 1000).toFixed(2)} s → ${Math.round(rows / (ms / 1000))} rows/s, ${mb(bytes)} MiB`,
        `  memory: rss ${mb(before.rss)} → peak ${mb(peakRss)} MiB (+${mb(peakRss - before.rss)}), ` +
          `heap ${mb(before.heapUsed)} → peak ${mb(peakHeap)} MiB (+${mb(peakHeap - before.heapUsed)})`,
        ...(live.length > 0
          ? [`  live heap after GC, every 5,000 rows: ${live.map((n) => mb(n)).join(' ')} MiB`]
          : []),
        '',
      ].join('\n'),
    );
    if (rows !== N) throw new Error(`expected ${N} rows, got ${rows}`);
  } finally {
    await app.close();
    await db.close();
  }
}

await main();
