import { setTimeout as sleep } from 'node:timers/promises';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app.js';
import type { Database } from '../src/db/database.js';
import { migrate } from '../src/db/migrate.js';
import { openPostgres } from '../src/db/open.js';
import { isPostgres, TEST_ROOT, testConfig } from './helpers/app.js';
import { createPerson, nid } from './helpers/registry.js';
import { call, createTestTenant, type IssuedTestClient, tokenFor } from './helpers/tenant.js';
import {
  havePostgresBinaries,
  startThrowawayPostgres,
  type ThrowawayPostgres,
} from './helpers/throwaway-postgres.js';

/**
 * HEARTH_READ_DATABASE_URL against a real streaming standby (initdb, pg_basebackup -R) of a
 * throwaway primary: searches go to the replica, a caller that just wrote reads from the
 * primary, and a stopped replica falls back to the primary (decision 0093). PostgreSQL run only,
 * when the server binaries are installed (CI installs them).
 */
const enabled = isPostgres() && havePostgresBinaries();

describe.skipIf(!enabled)('read replica', () => {
  let primary: ThrowawayPostgres;
  let standby: ThrowawayPostgres;
  let db: Database;
  let app: FastifyInstance;
  let writer: IssuedTestClient;
  let reader: IssuedTestClient;
  let standbyAdmin: pg.Client;

  beforeAll(async () => {
    primary = await startThrowawayPostgres();
    db = await openPostgres(primary.url, 4);
    await migrate(db);
    standby = await startThrowawayPostgres(primary);
    app = await buildApp({
      config: testConfig({
        DATABASE_URL: primary.url,
        HEARTH_READ_DATABASE_URL: standby.url,
        // Generous: the test pauses replay and must still be served by the replica meanwhile.
        HEARTH_READ_MAX_LAG_MS: '120000',
      }),
      db,
    });
    await app.ready();
    await app.hearth.services.clients.ensureRootClient(TEST_ROOT.id, TEST_ROOT.secret);
    const tenant = await createTestTenant({ app, db, config: app.hearth.config, close: async () => {} });
    writer = await tenant.client({ roles: ['registrar'], name: 'writer' });
    reader = await tenant.client({ roles: ['registrar'], name: 'reader' });
    standbyAdmin = new pg.Client({ connectionString: standby.url });
    await standbyAdmin.connect();
  }, 120_000);

  afterAll(async () => {
    await standbyAdmin?.end().catch(() => {});
    await app?.close();
    await db?.close();
    standby?.destroy();
    primary?.destroy();
  });

  const search = (who: IssuedTestClient, number: string) =>
    call(app, who.token, 'GET', `/api/v1/persons/search?criteria_id=identity&criteria_value=${number}`);

  /** Waits until the standby has replayed everything the primary wrote so far. */
  async function caughtUp(): Promise<void> {
    const { rows } = await db.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn');
    for (let i = 0; i < 200; i++) {
      const r = await standbyAdmin.query('SELECT pg_last_wal_replay_lsn() >= $1::pg_lsn AS ok', [
        rows[0].lsn,
      ]);
      if (r.rows[0].ok) return;
      await sleep(50);
    }
    throw new Error('the standby did not catch up');
  }

  it('uses the replica once its first check found it streaming', () => {
    const [state] = app.hearth.services.reads.states();
    expect(state).toMatchObject({ healthy: true, lagSeconds: 0 });
  });

  it('serves searches from the replica, and a caller that just wrote from the primary', async () => {
    await caughtUp();
    // Replay paused: the replica keeps answering (lag within the bound) without what follows.
    await standbyAdmin.query('SELECT pg_wal_replay_pause()');
    try {
      const number = nid();
      await createPerson(app, writer.token, { identity_number: number });
      const before = { ...app.hearth.services.reads.served };

      // The reader did not write: its search runs on the replica, which has not seen the person.
      const seenByReader = await search(reader, number);
      expect(seenByReader.statusCode, seenByReader.body).toBe(200);
      expect(seenByReader.json().data).toHaveLength(0);
      expect(app.hearth.services.reads.served.replica).toBe(before.replica + 1);

      // The writer reads its own write: the primary answers it.
      const seenByWriter = await search(writer, number);
      expect(seenByWriter.statusCode).toBe(200);
      expect(seenByWriter.json().data).toHaveLength(1);
      expect(app.hearth.services.reads.served.primary).toBe(before.primary + 1);

      await standbyAdmin.query('SELECT pg_wal_replay_resume()');
      await caughtUp();
      const later = await search(reader, number);
      expect(later.json().data).toHaveLength(1);
    } finally {
      await standbyAdmin.query('SELECT pg_wal_replay_resume()').catch(() => {});
    }
  });

  it('serves registry statistics from the replica', async () => {
    const before = app.hearth.services.reads.served.replica;
    const res = await call(app, reader.token, 'GET', '/api/v1/stats/persons');
    expect(res.statusCode, res.body).toBe(200);
    expect(app.hearth.services.reads.served.replica).toBe(before + 1);
  });

  it('shows the replica, its lag and where reads went in /metrics', async () => {
    const root = await tokenFor(app, TEST_ROOT.id, TEST_ROOT.secret);
    const res = await call(app, root, 'GET', '/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/hearth_read_replica_up\{replica="[^"]+"\} 1/);
    expect(res.body).toMatch(/hearth_read_replica_lag_seconds\{replica="[^"]+"\} \d/);
    expect(res.body).toMatch(/hearth_reads_total\{target="replica"\} [1-9]/);
    expect(res.body).toMatch(/hearth_read_replica_pool_acquired_total\{replica="[^"]+"\} [1-9]/);
  });

  it('answers from the primary when the replica is stopped, and uses it again when it is back', async () => {
    const number = nid();
    await createPerson(app, writer.token, { identity_number: number });
    await standbyAdmin.end();
    standby.stop('immediate');
    // The next search finds the replica gone (or the check already did): the primary answers.
    const res = await search(reader, number);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json().data).toHaveLength(1);
    expect(app.hearth.services.reads.states()[0].healthy).toBe(false);
    // Every search meanwhile succeeds.
    for (let i = 0; i < 5; i++) expect((await search(reader, number)).statusCode).toBe(200);

    standby.start();
    standbyAdmin = new pg.Client({ connectionString: standby.url });
    await standbyAdmin.connect();
    await caughtUp();
    const until = Date.now() + 15_000;
    while (!app.hearth.services.reads.states()[0].healthy && Date.now() < until) await sleep(200);
    expect(app.hearth.services.reads.states()[0].healthy).toBe(true);
    const before = app.hearth.services.reads.served.replica;
    expect((await search(reader, number)).json().data).toHaveLength(1);
    expect(app.hearth.services.reads.served.replica).toBe(before + 1);
  }, 60_000);
});
