// npm run bench:import -- [N] [--only postgres|pglite] [--mode all_or_nothing|best_effort] [--tsx]
// Generates a CSV of N synthetic persons (default 1,000,000), imports it through Hearth
// (POST /api/v1/person-imports on a server process, until the run completes) on PostgreSQL and
// on PGlite, and in the same run the raw baseline: COPY of the same file into an unindexed
// table with the same columns. Prints rows/s, the ratio Hearth/raw COPY and Hearth's peak RSS.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { RAW_TABLE, writePersonsCsv } from './generate.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const { values: args, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    only: { type: 'string' },
    mode: { type: 'string', default: 'all_or_nothing' },
    tsx: { type: 'boolean', default: false },
  },
});
const N = Number((positionals[0] ?? '1000000').replaceAll('_', ''));
if (!Number.isInteger(N) || N < 1) throw new Error('N must be a positive whole number');
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const PORT = Number(process.env.BENCH_PORT ?? 18190);
// Our own database, never another bench's: BENCH_DB_NAME, or one named after this process (dropped at the end).
const DB_NAME = process.env.BENCH_DB_NAME ?? `hearth_bench_import_${process.pid}`;
const ROOT = { id: 'bench-root', secret: 'bench-root-secret-0123456789' };

interface Result {
  engine: string;
  seconds: number;
  uploadSeconds: number;
  rawSeconds: number;
  peakRssMb: number;
  status: string;
  counts: Record<string, number>;
}

function dbUrl(name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function recreate(name: string): Promise<string> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${name}`);
  await c.end();
  return dbUrl(name);
}

async function drop(name: string): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await c.end();
}

function hearthCommand(): string[] {
  if (!args.tsx) {
    const built = spawnSync(process.execPath, ['scripts/build-if-needed.mjs'], {
      cwd: root,
      stdio: 'inherit',
    });
    if (built.status === 0) return ['bin/hearth.mjs', 'serve'];
    process.stderr.write('dist/ could not be built: running Hearth from the sources with tsx\n');
  }
  return ['--import', 'tsx', 'bench/import/hearth-tsx.ts', 'serve'];
}

async function startHearth(env: Record<string, string>): Promise<ChildProcess> {
  const child = spawn(process.execPath, hearthCommand(), {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      HEARTH_ROOT_CLIENT_ID: ROOT.id,
      HEARTH_ROOT_CLIENT_SECRET: ROOT.secret,
      HEARTH_RATE_LIMIT_PER_MINUTE: '1000000',
      HEARTH_WORKERS: 'true',
      ...env,
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 180_000;
  for (;;) {
    try {
      if ((await fetch(`http://127.0.0.1:${PORT}/readyz`)).ok) return child;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('Hearth did not start');
    await sleep(250);
  }
}

/** Peak resident set of a process so far (Linux /proc), in MB. */
function peakRssMb(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Math.round(Number(m[1]) / 1024) : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

async function api<T>(method: string, url: string, token: string | null, body?: unknown): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${PORT}${url}`, {
    method,
    headers: {
      ...(token ? { authorization: `Bearer ${token}` } : {}),
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const json = (await res.json()) as T;
  if (!res.ok) throw new Error(`${method} ${url}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/**
 * On PGlite the run holds the single embedded connection (and, inside a statement, the event
 * loop) for a long time; the server may drop a poll that waited too long (Node's 60 s headers
 * timeout) or a reused keep-alive socket. A dropped poll is retried, a failed answer is not.
 */
async function pollImport<T>(id: string, token: string): Promise<T> {
  for (let failures = 0; ; failures++) {
    try {
      return await api<T>('GET', `/api/v1/person-imports/${id}`, token);
    } catch (err) {
      const dropped = err instanceof TypeError; // fetch's network failure, not an HTTP status
      if (!dropped || failures >= 20) throw err;
      await sleep(1000);
    }
  }
}

async function tenantAdminToken(): Promise<string> {
  const tokenOf = async (id: string, secret: string) =>
    (
      await api<{ access_token: string }>('POST', '/oauth/token', null, {
        grant_type: 'client_credentials',
        client_id: id,
        client_secret: secret,
      })
    ).access_token;
  const root = await tokenOf(ROOT.id, ROOT.secret);
  const code = `bench-${Date.now().toString(36)}`;
  const tenant = await api<{ tenant_id: string }>('POST', '/api/v1/tenants', root, {
    name: 'Import bench',
    code,
  });
  const client = await api<{ client_id: string; client_secret: string }>('POST', '/api/v1/clients', root, {
    name: 'bench importer',
    tenant_id: tenant.tenant_id,
    roles: ['tenant_admin'],
  });
  return tokenOf(client.client_id, client.client_secret);
}

function postFile(file: string, token: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `http://127.0.0.1:${PORT}/api/v1/person-imports?mode=${args.mode}&filename=${path.basename(file)}`,
      {
        method: 'POST',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'text/csv',
          'content-length': fs.statSync(file).size,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    fs.createReadStream(file).pipe(req);
  });
}

async function hearthImport(engine: string, env: Record<string, string>, file: string) {
  const child = await startHearth(env);
  try {
    const token = await tenantAdminToken();
    const t0 = performance.now();
    const posted = await postFile(file, token);
    const uploadSeconds = (performance.now() - t0) / 1000;
    if (posted.status !== 202) throw new Error(`upload: ${posted.status} ${posted.body}`);
    const id = JSON.parse(posted.body).import_id;
    type View = {
      status: string;
      counts: Record<string, number>;
      progress: { phase: string; percent: number };
    };
    let view: View;
    for (;;) {
      view = await pollImport<View>(id, token);
      if (['completed', 'failed', 'rolled_back'].includes(view.status)) break;
      process.stderr.write(`\r${engine}: ${view.status} ${view.progress.phase} ${view.progress.percent}%   `);
      await sleep(500);
    }
    const seconds = (performance.now() - t0) / 1000;
    process.stderr.write(`\r${engine}: ${view.status} in ${seconds.toFixed(1)} s                \n`);
    return {
      seconds,
      uploadSeconds,
      status: view.status,
      counts: view.counts,
      peakRssMb: peakRssMb(child.pid!),
    };
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
  }
}

async function rawCopyPostgres(url: string, file: string): Promise<number> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(RAW_TABLE);
    const t0 = performance.now();
    await pipeline(
      fs.createReadStream(file),
      c.query(copyFrom('COPY raw_persons FROM STDIN WITH (FORMAT csv, HEADER)')),
    );
    const seconds = (performance.now() - t0) / 1000;
    await c.query('DROP TABLE raw_persons');
    return seconds;
  } finally {
    await c.end();
  }
}

async function rawCopyPglite(file: string): Promise<number> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-raw-'));
  const db = await PGlite.create(dir);
  try {
    await db.exec(RAW_TABLE);
    const t0 = performance.now();
    // PGlite's own bulk path: COPY from a blob handed to the engine (never COPY FROM STDIN).
    await db.query(`COPY raw_persons FROM '/dev/blob' WITH (FORMAT csv, HEADER)`, [], {
      blob: new Blob([fs.readFileSync(file)]),
    });
    return (performance.now() - t0) / 1000;
  } finally {
    await db.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function benchPostgres(file: string): Promise<Result> {
  const url = await recreate(DB_NAME);
  try {
    const rawSeconds = await rawCopyPostgres(url, file);
    process.stderr.write(`postgres raw COPY: ${rawSeconds.toFixed(1)} s\n`);
    const h = await hearthImport('postgres', { DATABASE_URL: url, HEARTH_DB_POOL_SIZE: '10' }, file);
    return { engine: 'PostgreSQL', rawSeconds, ...h };
  } finally {
    if (!process.env.BENCH_DB_NAME) await drop(DB_NAME);
  }
}

async function benchPglite(file: string): Promise<Result> {
  const rawSeconds = await rawCopyPglite(file);
  process.stderr.write(`pglite raw COPY: ${rawSeconds.toFixed(1)} s\n`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-bench-pglite-'));
  try {
    const h = await hearthImport('pglite', { HEARTH_DATA_DIR: dir, DATABASE_URL: '' }, file);
    return { engine: 'PGlite', rawSeconds, ...h };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const file = path.join(os.tmpdir(), `hearth-bench-import-${N}.csv`);
  const g0 = performance.now();
  const bytes = await writePersonsCsv(file, N, 20_260);
  process.stderr.write(
    `generated ${N} persons (${(bytes / 1e6).toFixed(1)} MB) in ${((performance.now() - g0) / 1000).toFixed(1)} s\n`,
  );
  const results: Result[] = [];
  try {
    if (!args.only || args.only === 'postgres') results.push(await benchPostgres(file));
    if (!args.only || args.only === 'pglite') results.push(await benchPglite(file));
  } finally {
    fs.rmSync(file, { force: true });
  }
  const rate = (s: number) => Math.round(N / s);
  const lines = results.map((r) => {
    const ratio = r.rawSeconds / r.seconds;
    return `| ${r.engine} | ${N} | ${args.mode} | ${r.status} (${r.counts.created} created) | ${r.seconds.toFixed(1)} | ${rate(r.seconds)} | ${r.uploadSeconds.toFixed(1)} | ${rate(r.rawSeconds)} | ${ratio.toFixed(2)} | ${r.peakRssMb} |`;
  });
  process.stdout.write(
    `\n| engine | rows | mode | outcome | Hearth s | Hearth rows/s | upload s | raw COPY rows/s | ratio Hearth/raw | Hearth peak RSS MB |\n|---|---|---|---|---|---|---|---|---|---|\n${lines.join('\n')}\n`,
  );
  process.stdout.write(
    '\nTargets (1,000,000 rows, 2 cores): PostgreSQL ≥ 20,000 rows/s, ratio ≥ 0.35, peak RSS ≤ 300 MB; PGlite ≥ 5,000 rows/s.\n',
  );
}

await main();
