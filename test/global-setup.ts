import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrate } from '../src/db/migrate.js';
import { openPglite, openPostgres } from '../src/db/open.js';

declare module 'vitest' {
  export interface ProvidedContext {
    testDatabaseUrl: string | null;
    pgliteSnapshotPath: string | null;
  }
}

/**
 * With DATABASE_URL=postgres://… the run gets a fresh scratch database, migrated once and dropped
 * at the end. Otherwise one migrated PGlite is dumped to a file that every test file loads, so no
 * test pays for initdb and migrations.
 */
export default async function setup(project: TestProject) {
  const url = process.env.DATABASE_URL;
  if (url?.startsWith('postgres')) {
    const name = `hearth_test_${Date.now()}_${Math.floor(Math.random() * 1e6)}`;
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query(`CREATE DATABASE ${name}`);
    await admin.end();
    const testUrl = new URL(url);
    testUrl.pathname = `/${name}`;
    const db = await openPostgres(testUrl.toString(), 2);
    await migrate(db);
    await db.close();
    project.provide('testDatabaseUrl', testUrl.toString());
    project.provide('pgliteSnapshotPath', null);
    return async () => {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    };
  }
  const db = await openPglite('memory://');
  await migrate(db);
  const dump = await db.pglite!.dumpDataDir('none');
  await db.close();
  const file = path.join(os.tmpdir(), `hearth-test-${process.pid}-${Date.now()}.tar`);
  fs.writeFileSync(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('testDatabaseUrl', null);
  project.provide('pgliteSnapshotPath', file);
  return async () => fs.rmSync(file, { force: true });
}
