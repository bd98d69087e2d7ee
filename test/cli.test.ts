import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { verifySecret } from '../src/auth/secrets.js';
import { main } from '../src/cli/main.js';
import type { Database } from '../src/db/database.js';
import { openDatabase } from '../src/db/open.js';
import { personsCsv } from '../src/imports/synthetic.js';
import { isPostgres } from './helpers/app.js';

/**
 * The admin command line as an operator runs it: `hearth tenant create`, `hearth import persons`
 * and `hearth demo` on their own database connection (the run's scratch PostgreSQL, or an
 * embedded PGlite in a temporary folder), checked through SQL afterwards.
 */

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-cli-'));
const saved = { ...process.env };

beforeAll(() => {
  process.env.LOG_LEVEL = 'silent';
  process.env.HEARTH_WORKERS = 'false';
  if (isPostgres()) process.env.DATABASE_URL = inject('testDatabaseUrl')!;
  else {
    delete process.env.DATABASE_URL;
    process.env.HEARTH_DATA_DIR = path.join(tmp, 'data');
  }
});

afterAll(() => {
  process.env = saved;
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** Runs one command, capturing what it prints. */
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
    const code = await main(argv);
    return { code, out, err };
  } finally {
    o.mockRestore();
    e.mockRestore();
  }
}

async function withDb<T>(fn: (db: Database) => Promise<T>): Promise<T> {
  const db = await openDatabase({
    databaseUrl: process.env.DATABASE_URL ?? null,
    dataDir: process.env.HEARTH_DATA_DIR ?? '',
    poolSize: 1,
  });
  try {
    return await fn(db);
  } finally {
    await db.close();
  }
}

const count = (sql: string, code: string) =>
  withDb(async (db) => {
    const { rows } = await db.query<{ n: number }>(sql, [code]);
    return rows[0].n;
  });

const personsOf = (code: string) =>
  count(
    'SELECT count(*)::int AS n FROM persons p JOIN tenants t ON t.id = p.tenant_id WHERE t.code = $1',
    code,
  );

async function writeCsv(file: string, n: number, extra: string[] = []) {
  let text = '';
  for await (const part of personsCsv(n, 7)) text += part;
  fs.writeFileSync(file, text + extra.join(''));
}

describe('hearth command line', () => {
  it('creates a tenant, imports a CSV with a progress bar and per-row errors, and refuses bad usage', async () => {
    const created = await hearth('tenant', 'create', '--code', 'cli-imp', '--name', 'CLI import');
    expect(created.code).toBe(0);

    const file = path.join(tmp, 'persons.csv');
    // One row with no name and a bad birth date: best effort keeps the 40 good ones.
    await writeCsv(file, 40, [',,,1990-13-45,1,national_id,CLI-BAD-1,+254700000001,Nairobi\n']);
    const run = await hearth('import', 'persons', file, '--tenant', 'cli-imp', '--mode', 'best_effort');
    expect(run.code).toBe(0);
    const view = JSON.parse(run.out);
    expect(view.status).toBe('completed');
    expect(view.counts).toMatchObject({ rows_read: 41, created: 40, rejected: 1 });
    expect(run.err).toMatch(/validating|applying|done/);
    expect(run.err).toMatch(/row 42 /);
    expect(await personsOf('cli-imp')).toBe(40);

    // Re-running the same file with skip creates nothing twice.
    const again = await hearth(
      'import',
      'persons',
      file,
      '--tenant',
      'cli-imp',
      '--mode',
      'best_effort',
      '--on-duplicate',
      'skip',
    );
    expect(JSON.parse(again.out).counts).toMatchObject({ created: 0, skipped: 40 });
    expect(await personsOf('cli-imp')).toBe(40);

    // All or nothing with the bad row: rolled back, exit code 1, nothing written.
    await hearth('tenant', 'create', '--code', 'cli-aon', '--name', 'CLI all or nothing');
    const aon = await hearth('import', 'persons', file, '--tenant', 'cli-aon');
    expect(aon.code).toBe(1);
    expect(JSON.parse(aon.out).status).toBe('rolled_back');
    expect(await personsOf('cli-aon')).toBe(0);

    expect(
      (await hearth('import', 'persons', path.join(tmp, 'missing.csv'), '--tenant', 'cli-imp')).code,
    ).toBe(2);
    expect((await hearth('import', 'persons', file, '--tenant', 'cli-imp', '--mode', 'sometimes')).code).toBe(
      2,
    );
    expect((await hearth('import', 'persons', file)).code).toBe(2);
  }, 120_000);

  it('demo builds a tenant of households, memberships, relationships and consents, once', async () => {
    const demo = await hearth('demo', '--tenant', 'cli-demo', '--persons', '60', '--seed', '3');
    expect(demo.code).toBe(0);
    expect(await personsOf('cli-demo')).toBe(60);
    const per = (table: string) =>
      count(
        `SELECT count(*)::int AS n FROM ${table} x JOIN tenants t ON t.id = x.tenant_id WHERE t.code = $1`,
        'cli-demo',
      );
    const households = await per('households');
    expect(households).toBeGreaterThan(5);
    expect(await per('household_members')).toBe(60);
    expect(await per('relationships')).toBeGreaterThan(0);
    expect(await per('consents')).toBeGreaterThan(0);
    const located = await count(
      `SELECT count(*)::int AS n FROM households h JOIN tenants t ON t.id = h.tenant_id
        WHERE t.code = $1 AND h.geo_lat IS NOT NULL AND h.geo_lon IS NOT NULL`,
      'cli-demo',
    );
    expect(located).toBe(households);

    const twice = await hearth('demo', '--tenant', 'cli-demo', '--persons', '10');
    expect(twice.code).toBe(1);
    expect(twice.err).toMatch(/already holds persons/);
    expect((await hearth('demo', '--persons', 'many')).code).toBe(2);
  }, 120_000);
  it('creates a user with a one-time password and resets it', async () => {
    expect((await hearth('tenant', 'create', '--code', 'cli-usr', '--name', 'CLI users')).code).toBe(0);
    const made = await hearth(
      'user',
      'create',
      '--tenant',
      'cli-usr',
      '--username',
      'cli.clerk',
      '--roles',
      'registrar',
    );
    expect(made.code, made.err).toBe(0);
    const user = JSON.parse(made.out);
    expect(user).toMatchObject({ username: 'cli.clerk', roles: ['registrar'], password_must_change: true });
    expect(user.one_time_password).toMatch(/^[A-Za-z0-9_-]{24}$/);
    const hashOf = () =>
      withDb(async (db) => {
        const { rows } = await db.query<{ password_hash: string }>(
          'SELECT password_hash FROM users WHERE username = $1',
          ['CLI.Clerk'],
        );
        return rows[0].password_hash;
      });
    expect(await verifySecret(user.one_time_password, await hashOf())).toBe(true);
    const reset = await hearth('user', 'reset-password', '--username', 'cli.clerk');
    expect(reset.code, reset.err).toBe(0);
    const next = JSON.parse(reset.out).one_time_password;
    expect(next).not.toBe(user.one_time_password);
    expect(await verifySecret(next, await hashOf())).toBe(true);
    expect((await hearth('user', 'create', '--username', 'x')).code).toBe(2);
  }, 120_000);
});
