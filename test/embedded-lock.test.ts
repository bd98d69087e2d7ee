import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../src/cli/main.js';
import { loadConfig } from '../src/config.js';
import { DataDirLockedError } from '../src/db/data-lock.js';
import { openEmbedded } from '../src/db/open.js';
import { type RunningServer, startServer } from '../src/server.js';
import { isPostgres } from './helpers/app.js';

/**
 * The embedded database is one process: the server locks its data folder, a second server or a
 * command that would open it is refused, and the admin commands go through the running server's
 * API instead (issue 17: tenants and clients created by the CLI while serving vanished). Embedded
 * only, so it runs in the PGlite pass.
 */
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-lock-'));
const dataDir = path.join(tmp, 'data');
const ROOT = { id: 'lock-root', secret: 'lock-root-secret-0123456789' };
const env = {
  HEARTH_DATA_DIR: dataDir,
  HEARTH_ROOT_CLIENT_ID: ROOT.id,
  HEARTH_ROOT_CLIENT_SECRET: ROOT.secret,
  LOG_LEVEL: 'silent',
  HEARTH_WORKERS: 'false',
  PORT: '0',
  HOST: '127.0.0.1',
  HEARTH_SHUTDOWN_DRAIN_MS: '3000',
};
const saved = { ...process.env };
const running: RunningServer[] = [];

beforeAll(() => {
  delete process.env.DATABASE_URL;
  delete process.env.REDIS_URL;
  Object.assign(process.env, env);
});

afterAll(async () => {
  for (const s of running) await s.stop();
  process.env = saved;
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function serve(): Promise<RunningServer> {
  const s = await startServer(loadConfig());
  running.push(s);
  return s;
}

async function stop(s: RunningServer): Promise<void> {
  await s.stop();
  running.splice(running.indexOf(s), 1);
}

async function hearth(...argv: string[]) {
  let out = '';
  let err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out += String(s);
    return true;
  });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err += String(s);
    return true;
  });
  try {
    return { code: await main(argv), out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

async function tokenOf(s: RunningServer, id: string, secret: string) {
  return s.app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: { grant_type: 'client_credentials', client_id: id, client_secret: secret },
  });
}

async function personsWith(s: RunningServer, id: string, secret: string): Promise<number> {
  const token = await tokenOf(s, id, secret);
  if (token.statusCode !== 200) return token.statusCode;
  const res = await s.app.inject({
    method: 'GET',
    url: '/api/v1/persons?limit=1',
    headers: { authorization: `Bearer ${token.json().access_token}` },
  });
  return res.statusCode;
}

describe.skipIf(isPostgres())('embedded data folder: one process', () => {
  it('the CLI goes through the running server; nothing it creates is lost across a restart', {
    timeout: 400_000,
  }, async () => {
    let server = await serve();
    const tenant = await hearth('tenant', 'create', '--code', 'LOCKT', '--name', 'Lock test');
    expect(tenant.err).toBe('');
    expect(tenant.code).toBe(0);
    expect(JSON.parse(tenant.out).code).toBe('LOCKT');
    const client = await hearth(
      'client',
      'create',
      '--tenant',
      'LOCKT',
      '--name',
      'clerk',
      '--roles',
      'registrar',
      '--verticals',
      'HEALTH',
    );
    expect(client.code).toBe(0);
    const created = JSON.parse(client.out);
    expect(created.vertical_ids).toHaveLength(1);
    // Usable at once on the running server (it made it, so its caches know).
    expect(await personsWith(server, created.client_id, created.client_secret)).toBe(200);
    const keys = await hearth('keys', 'rotate');
    expect(keys.code).toBe(0);
    expect(JSON.parse(keys.out).kid).toMatch(/^k/);

    // Commands that would open the folder themselves are refused, saying why and what to do.
    const csv = path.join(tmp, 'p.csv');
    fs.writeFileSync(csv, 'given_name,family_name,birth_date,sex\nAna,Lopez,1990-01-01,female\n');
    const imp = await hearth('import', 'persons', csv, '--tenant', 'LOCKT');
    expect(imp.code).toBe(75);
    expect(imp.err).toMatch(/in use by a running Hearth server .*Stop that server first/);
    // So is a second server.
    await expect(startServer(loadConfig())).rejects.toThrow(DataDirLockedError);

    // Graceful stop: readiness turns 503 at once while requests are still served, then it closes.
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    const stopped = stop(server);
    const ready = await fetch(`${server.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(((await ready.json()) as { detail: string }).detail).toBe('shutting down');
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    await stopped;
    await expect(fetch(`${server.url}/healthz`)).rejects.toThrow();
    expect(fs.existsSync(path.join(dataDir, 'hearth.lock'))).toBe(false);
    server = await serve();
    expect(await personsWith(server, created.client_id, created.client_secret)).toBe(200);
    const tenants = await server.app.inject({
      method: 'POST',
      url: '/oauth/token',
      payload: { grant_type: 'client_credentials', client_id: ROOT.id, client_secret: ROOT.secret },
    });
    const list = await server.app.inject({
      method: 'GET',
      url: '/api/v1/tenants?limit=100',
      headers: { authorization: `Bearer ${tenants.json().access_token}` },
    });
    expect(list.json().data.map((t: { code: string }) => t.code)).toContain('LOCKT');
    await stop(server);

    // No server: the command opens the folder itself, and leaves it free.
    const offline = await hearth('tenant', 'create', '--code', 'OFFLINE', '--name', 'Offline');
    expect(offline.code).toBe(0);
    expect(fs.existsSync(path.join(dataDir, 'hearth.lock'))).toBe(false);
  });

  it('keeps the data folder owner-only', () => {
    const loose: string[] = [];
    const walk = (p: string) => {
      const st = fs.statSync(p);
      if ((st.mode & 0o077) !== 0) loose.push(`${p} ${(st.mode & 0o777).toString(8)}`);
      if (st.isDirectory()) for (const n of fs.readdirSync(p)) walk(path.join(p, n));
    };
    walk(dataDir);
    expect(loose).toEqual([]);
  });

  it('takes over a lock left by a process that died', { timeout: 60_000 }, async () => {
    // A pid that is not running: the lock of a crashed (kill -9) server.
    let dead = 999_999;
    while (isAlive(dead)) dead--;
    fs.writeFileSync(
      path.join(dataDir, 'hearth.lock'),
      JSON.stringify({ pid: dead, hostname: os.hostname(), holder: 'server', url: null, started_at: '' }),
    );
    const db = await openEmbedded(dataDir, 'cli');
    await expect(openEmbedded(dataDir, 'cli')).rejects.toThrow(/in use by another hearth command/);
    await db.close();
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
