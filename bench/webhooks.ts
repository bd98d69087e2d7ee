// npx tsx bench/webhooks.ts [--events 2000]
// Webhook throughput (issue 8): events delivered per second to a local receiver, end to end
// (outbox → dispatcher → delivery rows and jobs → signed POST → attempt log and audit), beside a
// bare baseline that signs and POSTs the same number of bodies with no database at all.
//
// With BENCH_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) it recreates a
// `hearth_bench_webhooks` database on that server; without it, it runs on in-memory PGlite.
// Hearth runs in this process with one job runner (one delivery at a time, as one server or
// `hearth worker` process does). Events are written straight to the outbox in batches.
import { generateKeyPairSync, sign } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import type { Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { openPglite, openPostgres } from '../src/db/open.js';
import { emitEvent } from '../src/events/outbox.js';
import { uuidv7 } from '../src/lib/ids.js';

const { values: args } = parseArgs({
  options: { events: { type: 'string', default: '2000' } },
});
const N = Number(args.events);
const ROOT = { id: 'bench-root', secret: 'bench-root-secret-0123456789' };

async function openDb(): Promise<Database> {
  const admin = process.env.BENCH_DATABASE_URL;
  if (!admin) return openPglite('memory://');
  const name = 'hearth_bench_webhooks';
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return openPostgres(u.toString(), 10);
}

function receiver(): Promise<{ url: string; count: () => number; close: () => Promise<void> }> {
  let n = 0;
  const server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => {
    req.resume();
    req.on('end', () => {
      n++;
      res.writeHead(204).end();
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        count: () => n,
        close: () => new Promise((r) => server.close(() => r())),
      }),
    ),
  );
}

async function main(): Promise<void> {
  const db = await openDb();
  await migrate(db);
  const config = loadConfig({
    LOG_LEVEL: 'warn',
    HEARTH_WORKERS: 'false',
    HEARTH_RATE_LIMIT_PER_MINUTE: '1000000',
    HEARTH_WEBHOOK_ALLOW_INSECURE_TARGETS: 'true',
  });
  const app = await buildApp({ config, db });
  await app.ready();
  await app.hearth.services.clients.ensureRootClient(ROOT.id, ROOT.secret);
  const rx = await receiver();

  const inject = async (token: string | null, method: 'GET' | 'POST', url: string, payload?: unknown) => {
    const res = await app.inject({
      method,
      url,
      headers: token ? { authorization: `Bearer ${token}` } : {},
      ...(payload === undefined ? {} : { payload: payload as object }),
    });
    if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    return res.json();
  };
  const tokenOf = async (id: string, secret: string) =>
    (
      await inject(null, 'POST', '/oauth/token', {
        grant_type: 'client_credentials',
        client_id: id,
        client_secret: secret,
      })
    ).access_token as string;
  const root = await tokenOf(ROOT.id, ROOT.secret);
  const tenant = await inject(root, 'POST', '/api/v1/tenants', {
    name: 'Bench',
    code: `bench-${Date.now()}`,
  });
  const client = async (roles: string[]) => {
    const c = await inject(root, 'POST', '/api/v1/clients', {
      name: roles[0],
      tenant_id: tenant.tenant_id,
      roles,
    });
    return tokenOf(c.client_id, c.client_secret);
  };
  const [admin, reviewer, approver] = await Promise.all([
    client(['tenant_admin']),
    client(['reviewer']),
    client(['approver']),
  ]);
  const verticals = (await inject(admin, 'GET', '/api/v1/verticals')).data as { vertical_id: string }[];
  const i = await inject(admin, 'POST', '/api/v1/integrations', {
    integration_name: 'Bench partner',
    partner_name: 'Bench',
    partner_type: 'NGO',
    vertical_ids: [verticals[0].vertical_id],
    active_from: new Date(Date.now() - 3600_000).toISOString(),
  });
  const base = `/api/v1/integrations/${i.integration_id}`;
  await inject(admin, 'POST', `${base}/request-review`, { request_reason_code: 'ROUTINE_REVIEW' });
  await inject(reviewer, 'POST', `${base}/review`, {});
  await inject(approver, 'POST', `${base}/approve`, { approval_reason_code: 'ROUTINE_REVIEW' });
  await inject(admin, 'POST', `${base}/activate`, {});
  await inject(admin, 'POST', `${base}/webhooks`, {
    target_url: `${rx.url}/events`,
    event_types: ['household.updated'],
    active_from: new Date(Date.now() - 60_000).toISOString(),
  });

  // N events about N/4 households (so per-resource ordering is exercised), in transactions of 500.
  const households = Array.from({ length: Math.max(1, Math.ceil(N / 4)) }, () => uuidv7());
  for (let done = 0; done < N; done += 500) {
    await db.transaction(
      async (tx) => {
        for (let k = done; k < Math.min(N, done + 500); k++) {
          await emitEvent(tx, tenant.tenant_id, {
            type: 'household.updated',
            resourceType: 'household',
            resourceId: households[k % households.length],
            changedFields: ['household_name'],
          });
        }
      },
      { tenantId: tenant.tenant_id },
    );
  }

  const jobs = app.hearth.services.jobs;
  const started = performance.now();
  let last = -1;
  while (rx.count() < N) {
    await jobs.runPeriodic('events.dispatch');
    await jobs.runPeriodic('webhooks.deliver');
    if (rx.count() === last) await new Promise((r) => setTimeout(r, 20));
    last = rx.count();
  }
  const seconds = (performance.now() - started) / 1000;
  const { rows } = await db.query<{ p50: number; p99: number }>(
    `SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY duration_ms) AS p50,
            percentile_cont(0.99) WITHIN GROUP (ORDER BY duration_ms) AS p99 FROM webhook_delivery_attempts`,
  );

  // Baseline: sign and POST the same number of bodies, sequentially, no database.
  const { privateKey } = generateKeyPairSync('ed25519');
  const body = JSON.stringify({ type: 'household.updated', data: { resource_id: uuidv7() } });
  const b0 = performance.now();
  for (let k = 0; k < N; k++) {
    const id = uuidv7();
    const ts = Math.floor(Date.now() / 1000);
    const sig = sign(null, Buffer.from(`${id}.${ts}.${body}`), privateKey).toString('base64');
    const res = await fetch(`${rx.url}/baseline`, {
      method: 'POST',
      headers: { 'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1a,${sig}` },
      body,
      signal: AbortSignal.timeout(10_000),
    });
    await res.arrayBuffer();
  }
  const baseline = (performance.now() - b0) / 1000;

  const hearthRate = N / seconds;
  const baseRate = N / baseline;
  console.log(`database: ${db.kind}, events: ${N}, concurrency: ${config.webhooks.concurrency}`);
  console.log(
    `Hearth:   ${hearthRate.toFixed(0)} events/s delivered (${seconds.toFixed(2)} s; attempt p50 ${Number(rows[0].p50).toFixed(1)} ms, p99 ${Number(rows[0].p99).toFixed(1)} ms)`,
  );
  console.log(`baseline: ${baseRate.toFixed(0)} posts/s (sign + POST, no database)`);
  console.log(`ratio:    ${(hearthRate / baseRate).toFixed(2)}`);
  await app.close();
  await rx.close();
  await db.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
