// Statement timings of one import, in process: npx tsx bench/import/profile.ts N [postgres-url]
import { buildApp } from '../../src/app.js';
import { systemActor } from '../../src/auth/principal.js';
import { loadConfig } from '../../src/config.js';
import type { Database, Tx } from '../../src/db/database.js';
import { migrate } from '../../src/db/migrate.js';
import { openPglite, openPostgres } from '../../src/db/open.js';
import { runImportHere } from '../../src/imports/local-run.js';
import { personsCsv } from '../../src/imports/synthetic.js';

const n = Number(process.argv[2] ?? 20000);
const url = process.argv[3];
// Our own database, never another run's: BENCH_DB_NAME, or one named after this process.
const dbName = process.env.BENCH_DB_NAME ?? `hearth_profile_${process.pid}`;
let db: Database;
if (url) {
  const pg = await import('pg');
  const admin = new pg.default.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await admin.query(`CREATE DATABASE ${dbName}`);
  await admin.end();
  const u = new URL(url);
  u.pathname = `/${dbName}`;
  db = await openPostgres(u.toString(), 4);
} else db = await openPglite('memory://');
await migrate(db);
const app = await buildApp({ config: loadConfig({ HEARTH_WORKERS: 'false', LOG_LEVEL: 'warn' }), db });
const s = app.hearth.services;
const tenant = await s.tenants.create(systemActor(null, 'x'), { code: 'prof', name: 'Prof' });
const actor = systemActor(tenant.tenant_id, 'prof');
const timings = new Map<string, { n: number; ms: number }>();
const orig = db.transaction.bind(db);
(db as { transaction: Database['transaction'] }).transaction = (fn, o) =>
  orig(async (tx: Tx) => {
    const q = tx.query.bind(tx);
    const wrapped: Tx = {
      ...tx,
      raw: tx.raw,
      tenantId: tx.tenantId,
      exec: tx.exec.bind(tx),
      query: async (text, params) => {
        const t0 = performance.now();
        try {
          return await q(text, params);
        } finally {
          const k = text.replace(/\s+/g, ' ').trim().slice(0, 70);
          const e = timings.get(k) ?? { n: 0, ms: 0 };
          e.n++;
          e.ms += performance.now() - t0;
          timings.set(k, e);
        }
      },
    };
    return fn(wrapped);
  }, o);
if (process.env.CHUNK_ROWS) s.imports.configure({ chunkRows: Number(process.env.CHUNK_ROWS) });
if (process.env.APPLY_ROWS) s.imports.configure({ applyRows: Number(process.env.APPLY_ROWS) });
const t0 = performance.now();
const { accepted } = await s.imports.create(actor, personsCsv(n, 9), {
  format: 'csv',
  onDuplicate: 'reject',
  mode: 'all_or_nothing',
  dryRun: false,
  filename: null,
  idempotencyKey: null,
});
const t1 = performance.now();
let last = '';
let peakHeap = 0;
const mem = setInterval(() => {
  const m = process.memoryUsage();
  peakHeap = Math.max(peakHeap, m.heapUsed);
  if (process.env.MEMLOG)
    console.log(
      `heap ${Math.round(m.heapUsed / 1e6)} MB, rss ${Math.round(m.rss / 1e6)} MB, ext ${Math.round(m.external / 1e6)} MB, ab ${Math.round(m.arrayBuffers / 1e6)} MB`,
    );
}, 1000);
const view = await runImportHere(db, s.imports, actor, accepted.import_id, (p) => {
  if (p.phase !== last) {
    console.log(`${((performance.now() - t0) / 1000).toFixed(2)}s ${p.phase}`);
    last = p.phase;
  }
});
const t2 = performance.now();
console.log(
  view.status,
  view.counts,
  `upload ${((t1 - t0) / 1000).toFixed(2)} s, job ${((t2 - t1) / 1000).toFixed(2)} s, ${Math.round(n / ((t2 - t0) / 1000))} rows/s`,
);
console.log(
  [...timings.entries()]
    .sort((a, b) => b[1].ms - a[1].ms)
    .slice(0, 25)
    .map(([k, v]) => `${v.ms.toFixed(0).padStart(7)} ms ${String(v.n).padStart(5)}x ${k}`)
    .join('\n'),
);
clearInterval(mem);
console.log(
  'rss MB',
  Math.round(process.memoryUsage().rss / 1e6),
  'peak heap MB',
  Math.round(peakHeap / 1e6),
);
await app.close();
await db.close();
