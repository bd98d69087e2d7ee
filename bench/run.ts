// npm run bench [-- --duration 10 --connections 32 --only "persons"]
// Starts Hearth and the bare baseline against the same PostgreSQL database and, one case at a time,
// drives both with autocannon at 32 connections (throughput: requests/s, p50/p99 and the
// Hearth/baseline ratio), then with one client issuing requests back to back (latency: p50/p95/p99).
// BENCH_DB_NAME and BENCH_PORT (Hearth; the baseline takes the next port) let two runs share a host.
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import pg from 'pg';
import { type BenchCase, type BenchContext, cases, type RequestSpec } from './cases.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    only: { type: 'string' },
  },
});
const adminUrl = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dbName = process.env.BENCH_DB_NAME ?? 'hearth_bench';
const benchUrl = (() => {
  const u = new URL(adminUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
})();
const HEARTH_PORT = Number(process.env.BENCH_PORT ?? 18180);
const BASELINE_PORT = HEARTH_PORT + 1;

async function recreateDatabase(): Promise<void> {
  const c = new pg.Client({ connectionString: adminUrl });
  await c.connect();
  await c.query(`DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`);
  await c.query(`CREATE DATABASE ${dbName}`);
  await c.end();
}

function startChild(cmd: string[], env: Record<string, string>, readyUrl: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, cmd, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    const deadline = Date.now() + 120_000;
    const poll = async () => {
      try {
        const res = await fetch(readyUrl);
        if (res.ok) return resolve(child);
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline || child.exitCode !== null)
        return reject(new Error(`${cmd.join(' ')} did not start`));
      setTimeout(poll, 250);
    };
    poll();
  });
}

interface Figures {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function drive(baseUrl: string, spec: RequestSpec): Promise<Figures> {
  const headers = { 'content-type': 'application/json', ...(spec.headers ?? {}) };
  const makeBody = spec.makeBody;
  const result = await autocannon({
    url: baseUrl + spec.path,
    method: spec.method,
    headers,
    body: spec.body,
    ...(makeBody
      ? {
          requests: [
            {
              method: spec.method,
              path: spec.path,
              headers,
              setupRequest: (req) => ({ ...req, body: makeBody() }),
            },
          ],
        }
      : {}),
    connections: Number(args.connections),
    duration: Number(args.duration),
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.errors,
    non2xx: result.non2xx,
  };
}

interface Latency {
  count: number;
  p50: number;
  p95: number;
  p99: number;
}

/**
 * One client, one request at a time, for `seconds`: the latency a single caller sees, which a
 * saturated 32-connection run cannot show (there latency only mirrors throughput). Percentiles are
 * exact over every request (ms, two decimals).
 */
async function latencyRun(baseUrl: string, spec: RequestSpec, seconds: number): Promise<Latency> {
  const headers = { 'content-type': 'application/json', ...(spec.headers ?? {}) };
  const times: number[] = [];
  const until = performance.now() + seconds * 1000;
  while (performance.now() < until) {
    const body = spec.makeBody ? spec.makeBody() : spec.body;
    const started = performance.now();
    const res = await fetch(baseUrl + spec.path, { method: spec.method, headers, body });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`${spec.method} ${spec.path}: ${res.status}`);
    times.push(performance.now() - started);
  }
  times.sort((a, b) => a - b);
  const at = (q: number) =>
    Number(times[Math.min(times.length - 1, Math.floor(q * times.length))].toFixed(2));
  return { count: times.length, p50: at(0.5), p95: at(0.95), p99: at(0.99) };
}

function fmtLatency(l: Latency): string {
  return `1 client: p50 ${l.p50} ms  p95 ${l.p95} ms  p99 ${l.p99} ms (${l.count} requests)`;
}

function fmt(f: Figures): string {
  const bad = f.errors + f.non2xx > 0 ? ` (${f.errors} errors, ${f.non2xx} non-2xx)` : '';
  return `${f.rps.toFixed(0).padStart(7)} req/s  p50 ${String(f.p50).padStart(4)} ms  p99 ${String(f.p99).padStart(4)} ms${bad}`;
}

async function main(): Promise<void> {
  await recreateDatabase();
  const ctx: BenchContext = {
    hearthUrl: `http://127.0.0.1:${HEARTH_PORT}`,
    auth: {},
    state: {},
    databaseUrl: benchUrl,
  };
  const hearth = await startChild(
    ['bin/hearth.mjs', 'serve'],
    {
      DATABASE_URL: benchUrl,
      PORT: String(HEARTH_PORT),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      HEARTH_ROOT_CLIENT_ID: 'bench-root',
      HEARTH_ROOT_CLIENT_SECRET: 'bench-root-secret-0123456789',
      HEARTH_RATE_LIMIT_PER_MINUTE: '1000000',
      HEARTH_DB_POOL_SIZE: '10',
    },
    `http://127.0.0.1:${HEARTH_PORT}/readyz`,
  );
  const baseline = await startChild(
    ['--import', 'tsx', 'bench/baseline.ts'],
    { DATABASE_URL: benchUrl, BASELINE_PORT: String(BASELINE_PORT), POOL_SIZE: '10' },
    `http://127.0.0.1:${BASELINE_PORT}/healthz`,
  );
  const selected = cases.filter((c: BenchCase) => !args.only || c.name.includes(args.only));
  const rows: string[] = [];
  const latencyRows: string[] = [];
  const latencySeconds = Math.max(2, Math.round(Number(args.duration) / 2));
  try {
    for (const c of selected) {
      await c.setup?.(ctx);
      const baselineUrl = c.baselineOnHearth ? ctx.hearthUrl : `http://127.0.0.1:${BASELINE_PORT}`;
      const h = await drive(ctx.hearthUrl, c.hearth(ctx));
      const b = await drive(baselineUrl, c.baseline(ctx));
      const hl = await latencyRun(ctx.hearthUrl, c.hearth(ctx), latencySeconds);
      const bl = await latencyRun(baselineUrl, c.baseline(ctx), latencySeconds);
      const ratio = h.rps / b.rps;
      const line = `${c.name}\n  hearth   ${fmt(h)}\n  baseline ${fmt(b)}\n  ratio hearth/baseline ${ratio.toFixed(2)}\n  hearth   ${fmtLatency(hl)}\n  baseline ${fmtLatency(bl)}`;
      process.stdout.write(`${line}\n`);
      rows.push(
        `| ${c.name} | ${h.rps.toFixed(0)} | ${h.p50} / ${h.p99} | ${b.rps.toFixed(0)} | ${b.p50} / ${b.p99} | ${ratio.toFixed(2)} |`,
      );
      latencyRows.push(
        `| ${c.name} | ${hl.p50} / ${hl.p95} / ${hl.p99} | ${bl.p50} / ${bl.p95} / ${bl.p99} |`,
      );
    }
  } finally {
    hearth.kill('SIGTERM');
    baseline.kill('SIGTERM');
  }
  process.stdout.write(
    `\n| case | Hearth req/s | Hearth p50 / p99 ms | baseline req/s | baseline p50 / p99 ms | ratio |\n|---|---|---|---|---|---|\n${rows.join('\n')}\n` +
      `\n| case (one client) | Hearth p50 / p95 / p99 ms | baseline p50 / p95 / p99 ms |\n|---|---|---|\n${latencyRows.join('\n')}\n`,
  );
}

await main();
