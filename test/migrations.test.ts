import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isMigrated, loadMigrations, migrate } from '../src/db/migrate.js';
import { openPglite } from '../src/db/open.js';
import { openTestDatabase } from './helpers/app.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hearth-migrate-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('migrations', () => {
  it('are numbered, unique and never re-applied on the test database', async () => {
    const all = loadMigrations();
    expect(all.length).toBeGreaterThan(0);
    const db = await openTestDatabase();
    try {
      expect(await isMigrated(db)).toBe(true);
      const again = await migrate(db);
      expect(again.applied).toEqual([]);
      expect(again.alreadyApplied).toBe(all.length);
    } finally {
      await db.close();
    }
  });

  it('a restarted embedded database keeps its data and applies nothing twice', async () => {
    const dir = path.join(tmp, 'data');
    const first = await openPglite(dir);
    const report = await migrate(first);
    expect(report.applied.length).toBe(loadMigrations().length);
    await first.exec("CREATE TABLE restart_probe (v text); INSERT INTO restart_probe VALUES ('kept')");
    await first.close();

    const second = await openPglite(dir);
    try {
      const again = await migrate(second);
      expect(again.applied).toEqual([]);
      const { rows } = await second.query<{ v: string }>('SELECT v FROM restart_probe');
      expect(rows).toEqual([{ v: 'kept' }]);
    } finally {
      await second.close();
    }
    // Two on-disk PGlite starts and every migration: past 30 s on a busy machine.
  }, 120_000);

  it('refuses to start when a landed migration was edited, and rolls back a failing one', async () => {
    const dir = path.join(tmp, 'migs');
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, '0001_one.sql'), 'CREATE TABLE one (id int);');
    const db = await openPglite('memory://');
    try {
      expect((await migrate(db, dir)).applied).toEqual(['0001_one.sql']);
      fs.writeFileSync(path.join(dir, '0001_one.sql'), 'CREATE TABLE one (id bigint);');
      await expect(migrate(db, dir)).rejects.toThrow(/edited after it was applied/);

      fs.writeFileSync(path.join(dir, '0001_one.sql'), 'CREATE TABLE one (id int);');
      fs.writeFileSync(path.join(dir, '0002_bad.sql'), 'CREATE TABLE two (id int); SELECT 1/0;');
      await expect(migrate(db, dir)).rejects.toThrow(/division by zero/);
      const { rows } = await db.query<{ n: number }>(
        "SELECT count(*) AS n FROM information_schema.tables WHERE table_name = 'two'",
      );
      expect(rows[0].n).toBe(0);
      const { rows: recorded } = await db.query('SELECT version FROM schema_migrations');
      expect(recorded).toEqual([{ version: 1 }]);
    } finally {
      await db.close();
    }
  });
});
