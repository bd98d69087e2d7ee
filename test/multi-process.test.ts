import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import esbuild from 'esbuild';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../src/app.js';
import type { Database } from '../src/db/database.js';
import { loadMigrations, MIGRATIONS_DIR } from '../src/db/migrate.js';
import { openPostgres } from '../src/db/open.js';
import { startServer } from '../src/server.js';
import { createTestApp, isPostgres, TEST_ROOT, testConfig } from './helpers/app.js';

/**
 * Several processes on one PostgreSQL database: each "process" here is an app with its own pool,
 * caches and change feed, as separate server processes have; the migration race runs real
 * processes. The embedded database is one process by design (its folder is locked), so these run
 * on PostgreSQL only.
 */
const pgOnly = describe.skipIf(!isPostgres());

interface Proc {
  app: Awaited<ReturnType<typeof buildApp>>;
  db: Database;
}

const procs: Proc[] = [];

async function startProc(env: Record<string, string> = {}): Promise<Proc> {
  const db = await openPostgres(inject('testDatabaseUrl')!, 3);
  const app = await buildApp({
    config: testConfig({ DATABASE_URL: inject('testDatabaseUrl')!, ...env }),
    db,
  });
  await app.ready();
  const p = { app, db };
  procs.push(p);
  return p;
}

afterAll(async () => {
  for (const p of procs) {
    await p.app.close();
    await p.db.close();
  }
});

async function rootToken(p: Proc): Promise<string> {
  const res = await p.app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: { grant_type: 'client_credentials', client_id: TEST_ROOT.id, client_secret: TEST_ROOT.secret },
  });
  expect(res.statusCode).toBe(200);
  return res.json().access_token;
}

function kidOf(token: string): string {
  return JSON.parse(Buffer.from(token.split('.')[0], 'base64url').toString()).kid;
}

function runChild(script: string, url: string): Promise<{ code: number | null; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [script, url, MIGRATIONS_DIR], {
      stdio: ['ignore', 'ignore', 'pipe'],
      cwd: path.join(__dirname, '..'),
    });
    let err = '';
    child.stderr.on('data', (d) => {
      err += String(d);
    });
    child.on('exit', (code) => resolve({ code, err }));
  });
}

pgOnly('migrations from several processes at once', () => {
  it('5 processes migrating an empty database at once all succeed, 10 rounds', {
    timeout: 300_000,
  }, async () => {
    const script = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-race-')), 'migrate-child.mjs');
    await esbuild.build({
      entryPoints: [path.join(__dirname, 'fixtures/migrate-child.ts')],
      bundle: true,
      platform: 'node',
      format: 'esm',
      packages: 'external',
      outfile: script,
      logLevel: 'silent',
    });
    // Resolve pg from the repository's node_modules.
    fs.symlinkSync(path.join(__dirname, '../node_modules'), path.join(path.dirname(script), 'node_modules'));
    const base = new URL(inject('testDatabaseUrl')!);
    const admin = new pg.Client({ connectionString: base.toString() });
    await admin.connect();
    try {
      for (let round = 0; round < 10; round++) {
        const name = `hearth_race_${process.pid}_${round}`;
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        await admin.query(`CREATE DATABASE ${name}`);
        const url = new URL(base);
        url.pathname = `/${name}`;
        try {
          const results = await Promise.all(
            Array.from({ length: 5 }, () => runChild(script, url.toString())),
          );
          expect(results.map((r) => r.err)).toEqual(['', '', '', '', '']);
          expect(results.map((r) => r.code)).toEqual([0, 0, 0, 0, 0]);
          const check = new pg.Client({ connectionString: url.toString() });
          await check.connect();
          const { rows } = await check.query('SELECT count(*)::int AS n FROM schema_migrations');
          await check.end();
          expect(rows[0].n).toBe(loadMigrations().length);
        } finally {
          await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        }
      }
    } finally {
      await admin.end();
      fs.rmSync(path.dirname(script), { recursive: true, force: true });
    }
  });
});

pgOnly('one deployment, several processes', () => {
  let a: Proc;
  let b: Proc;
  beforeAll(async () => {
    a = await startProc({ HEARTH_PUBLIC_URL: 'https://a.example.org' });
    b = await startProc({ HEARTH_PUBLIC_URL: 'https://b.example.org', PORT: '9999' });
    await a.app.hearth.services.clients.ensureRootClient(TEST_ROOT.id, TEST_ROOT.secret);
  });

  it('a token from one process is accepted by another whatever their public URLs (one issuer)', async () => {
    expect(a.app.hearth.services.issuer).toBe(b.app.hearth.services.issuer);
    const token = await rootToken(a);
    const res = await b.app.inject({
      method: 'GET',
      url: '/api/v1/tenants',
      headers: { authorization: `Bearer ${token}` },
    });
    expect(res.statusCode).toBe(200);
  });

  it('follows changes by LISTEN on a direct connection', () => {
    expect(a.app.hearth.services.changes.mode).toBe('listen');
  });

  it('a key rotation on one process makes every process sign with the new key; the retired key never signs again', async () => {
    const before = kidOf(await rootToken(b));
    const rot = await a.app.inject({
      method: 'POST',
      url: '/api/v1/signing-keys/rotate',
      headers: { authorization: `Bearer ${await rootToken(a)}` },
    });
    expect(rot.statusCode).toBe(200);
    const { kid } = rot.json();
    expect(kid).not.toBe(before);
    await b.app.hearth.services.changes.nextSync();
    const after = await rootToken(b);
    expect(kidOf(after)).toBe(kid);
    // A process started now verifies what the others issue.
    const c = await startProc();
    const res = await c.app.inject({
      method: 'GET',
      url: '/api/v1/tenants',
      headers: { authorization: `Bearer ${after}` },
    });
    expect(res.statusCode).toBe(200);
  });
});

async function tenantWithClient(p: Proc, code: string) {
  const root = await rootToken(p);
  const tenant = await p.app.inject({
    method: 'POST',
    url: '/api/v1/tenants',
    headers: { authorization: `Bearer ${root}` },
    payload: { code, name: code },
  });
  expect(tenant.statusCode).toBe(201);
  const tenantId = tenant.json().tenant_id as string;
  const client = await p.app.inject({
    method: 'POST',
    url: '/api/v1/clients',
    headers: { authorization: `Bearer ${root}` },
    payload: { name: 'reader', roles: ['registrar'], tenant_id: tenantId },
  });
  expect(client.statusCode).toBe(201);
  const { client_id, client_secret } = client.json();
  return { root, tenantId, clientId: client_id as string, secret: client_secret as string };
}

async function clientToken(p: Proc, id: string, secret: string): Promise<string> {
  const res = await p.app.inject({
    method: 'POST',
    url: '/oauth/token',
    payload: { grant_type: 'client_credentials', client_id: id, client_secret: secret },
  });
  expect(res.statusCode).toBe(200);
  return res.json().access_token;
}

const personsOf = (p: Proc, token: string) =>
  p.app.inject({
    method: 'GET',
    url: '/api/v1/persons?limit=1',
    headers: { authorization: `Bearer ${token}` },
  });

for (const listen of ['direct', 'dead'] as const) {
  pgOnly(`revocation and suspension across processes (LISTEN ${listen})`, () => {
    let a: Proc;
    let b: Proc;
    beforeAll(async () => {
      // A LISTEN connection to another database hears nothing, as behind a transaction pooler.
      const other = new URL(inject('testDatabaseUrl')!);
      other.pathname = '/postgres';
      const env: Record<string, string> =
        listen === 'dead' ? { HEARTH_LISTEN_DATABASE_URL: other.toString() } : {};
      a = await startProc(env);
      b = await startProc(env);
    });

    it(`detects how it hears other processes (${listen === 'dead' ? 'polling' : 'LISTEN'})`, () => {
      expect(b.app.hearth.services.changes.mode).toBe(listen === 'dead' ? 'poll' : 'listen');
    });

    it('a client deactivated on one process is refused by another after its next sync', async () => {
      const t = await tenantWithClient(a, `rv${listen}`);
      const token = await clientToken(b, t.clientId, t.secret);
      expect((await personsOf(b, token)).statusCode).toBe(200); // now cached on b
      const off = await a.app.inject({
        method: 'POST',
        url: `/api/v1/clients/${t.clientId}/deactivate`,
        headers: { authorization: `Bearer ${t.root}` },
      });
      expect(off.statusCode).toBe(200);
      await b.app.hearth.services.changes.nextSync();
      expect((await personsOf(b, token)).statusCode).toBe(401);
    });

    it('a tenant suspended on one process refuses its clients on another after its next sync, and its settings follow', async () => {
      const t = await tenantWithClient(a, `su${listen}`);
      const token = await clientToken(b, t.clientId, t.secret);
      expect((await personsOf(b, token)).statusCode).toBe(200);
      const settings = b.app.hearth.services.settings;
      expect((await settings.get(b.db, t.tenantId)).consentGraceDays).toBe(30);
      const patch = await a.app.inject({
        method: 'PATCH',
        url: `/api/v1/tenants/${t.tenantId}`,
        headers: { authorization: `Bearer ${t.root}` },
        payload: { status: 'suspended', settings: { consent_grace_days: 7 } },
      });
      expect(patch.statusCode).toBe(200);
      await b.app.hearth.services.changes.nextSync();
      expect((await personsOf(b, token)).statusCode).toBe(401);
      expect((await settings.get(b.db, t.tenantId)).consentGraceDays).toBe(7);
    });
  });
}

describe('one process (both databases)', () => {
  it('suspending a tenant refuses its clients at once, and reactivating lets them in again', {
    timeout: 120_000,
  }, async () => {
    const t0 = await createTestApp();
    const p = { app: t0.app, db: t0.db };
    try {
      const t = await tenantWithClient(p, 'suspendnow');
      const token = await clientToken(p, t.clientId, t.secret);
      expect((await personsOf(p, token)).statusCode).toBe(200);
      const patch = (status: string) =>
        p.app.inject({
          method: 'PATCH',
          url: `/api/v1/tenants/${t.tenantId}`,
          headers: { authorization: `Bearer ${t.root}` },
          payload: { status },
        });
      expect((await patch('suspended')).statusCode).toBe(200);
      expect((await personsOf(p, token)).statusCode).toBe(401);
      expect((await patch('active')).statusCode).toBe(200);
      expect((await personsOf(p, token)).statusCode).toBe(200);
    } finally {
      await t0.close();
    }
  });
});

describe('hearth serve --no-migrate', () => {
  it('refuses to start on a database with pending migrations, naming the command to run', {
    timeout: 120_000,
  }, async () => {
    const config = testConfig({ DATABASE_URL: 'memory://', PORT: '0', HOST: '127.0.0.1' });
    await expect(startServer(config, { migrate: false })).rejects.toThrow(
      /pending migrations: run `hearth migrate`/,
    );
  });
});
