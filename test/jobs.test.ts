import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enqueueJob } from '../src/jobs/queue.js';
import { JobRunner, PermanentJobError } from '../src/jobs/runner.js';
import { createTestApp, type TestApp } from './helpers/app.js';
import { createTestTenant, type TestTenant } from './helpers/tenant.js';

let t: TestApp;
let a: TestTenant;
beforeAll(async () => {
  t = await createTestApp();
  a = await createTestTenant(t);
});
afterAll(() => t?.close());

async function statusOf(id: string) {
  const { rows } = await t.db.query<{
    status: string;
    attempts: number;
    last_error: string | null;
    run_at: Date;
  }>('SELECT status, attempts, last_error, run_at FROM jobs WHERE id = $1', [id]);
  return rows[0];
}

describe('job queue', () => {
  it('a job exists only if the transaction that wrote it committed', async () => {
    const runner = new JobRunner(t.db, null);
    const seen: string[] = [];
    runner.register('test.commit', async (job) => {
      seen.push(String(job.payload.n));
    });
    await expect(
      t.db.transaction(
        async (tx) => {
          await enqueueJob(tx, { kind: 'test.commit', tenantId: a.tenantId, payload: { n: 1 } });
          throw new Error('rolled back');
        },
        { tenantId: a.tenantId },
      ),
    ).rejects.toThrow('rolled back');
    const kept = await t.db.transaction(
      (tx) => enqueueJob(tx, { kind: 'test.commit', tenantId: a.tenantId, payload: { n: 2 } }),
      { tenantId: a.tenantId },
    );
    expect(await runner.drain()).toBe(1);
    expect(seen).toEqual(['2']);
    expect((await statusOf(kept)).status).toBe('done');
  });

  it('retries a failing job with backoff, then fails it for good after max attempts', async () => {
    const runner = new JobRunner(t.db, null);
    let calls = 0;
    runner.register('test.flaky', async () => {
      calls++;
      throw new Error(`boom ${calls}`);
    });
    const id = await enqueueJob(t.db, { kind: 'test.flaky', tenantId: null, maxAttempts: 2 });
    expect(await runner.drain()).toBe(1);
    const first = await statusOf(id);
    expect(first).toMatchObject({ status: 'queued', attempts: 1, last_error: 'boom 1' });
    expect(first.run_at.getTime()).toBeGreaterThan(Date.now());
    expect(await runner.drain()).toBe(0); // not due yet
    await t.db.query('UPDATE jobs SET run_at = now() WHERE id = $1', [id]);
    expect(await runner.drain()).toBe(1);
    expect(await statusOf(id)).toMatchObject({ status: 'failed', attempts: 2, last_error: 'boom 2' });
  });

  it('a permanent error fails at once; a job whose worker died is taken over after its lock', async () => {
    const runner = new JobRunner(t.db, null);
    runner.register('test.permanent', async () => {
      throw new PermanentJobError('bad input');
    });
    const id = await enqueueJob(t.db, { kind: 'test.permanent', tenantId: null });
    await runner.drain();
    expect(await statusOf(id)).toMatchObject({ status: 'failed', attempts: 1 });

    const orphan = await enqueueJob(t.db, { kind: 'test.orphan', tenantId: null });
    // A worker claimed it and died: running, lock expired.
    await t.db.query(
      `UPDATE jobs SET status = 'running', attempts = 1, locked_by = 'dead', locked_until = now() - interval '1 second' WHERE id = $1`,
      [orphan],
    );
    const other = new JobRunner(t.db, null);
    const ran: string[] = [];
    other.register('test.orphan', async (job) => {
      ran.push(job.id);
    });
    expect(await other.drain()).toBe(1);
    expect(ran).toEqual([orphan]);
    expect(await statusOf(orphan)).toMatchObject({ status: 'done', attempts: 2 });
  });

  it('a live worker keeps a long job past its lease by heartbeat; a dead one loses it after the lease', async () => {
    // Lease 1 s, beats every ~333 ms: a 2.5 s job is never taken over while its worker lives.
    const live = new JobRunner(t.db, null, 1_000, 1);
    let release!: () => void;
    const running = new Promise<void>((r) => {
      release = r;
    });
    const started = new Promise<void>((resolve) => {
      live.register('test.long', async () => {
        resolve();
        await running;
      });
    });
    const id = await enqueueJob(t.db, { kind: 'test.long', tenantId: null });
    const done = live.runOne();
    await started;
    const thief = new JobRunner(t.db, null, 1_000, 1);
    const stolen: string[] = [];
    thief.register('test.long', async (job) => {
      stolen.push(job.id);
    });
    for (let i = 0; i < 5; i++) {
      await new Promise((r) => setTimeout(r, 500));
      await thief.drain();
    }
    expect(stolen).toEqual([]);
    release();
    await done;
    expect(await statusOf(id)).toMatchObject({ status: 'done', attempts: 1 });

    // A worker that claimed with the same lease and died (no heartbeat): taken over once it ends.
    const orphan = await enqueueJob(t.db, { kind: 'test.long', tenantId: null });
    await t.db.query(
      `UPDATE jobs SET status = 'running', attempts = 1, locked_by = 'dead', locked_until = now() + interval '1 second' WHERE id = $1`,
      [orphan],
    );
    expect(await thief.drain()).toBe(0);
    await new Promise((r) => setTimeout(r, 1_200));
    expect(await thief.drain()).toBe(1);
    expect(stolen).toEqual([orphan]);
  });

  it('started runners pick up nudged jobs and periodic sweeps; stop waits for them', async () => {
    const runner = new JobRunner(t.db, null, 50);
    let sweeps = 0;
    const done = new Promise<string>((resolve) => {
      runner.register('test.nudge', async (job) => resolve(job.id));
    });
    runner.addPeriodic('test.sweep', 20, async () => {
      sweeps++;
    });
    runner.start();
    const id = await enqueueJob(t.db, { kind: 'test.nudge', tenantId: null });
    runner.nudge();
    expect(await done).toBe(id);
    await runner.runPeriodic('test.sweep');
    await runner.stop();
    expect(sweeps).toBeGreaterThan(0);
  });

  it('row-level security keeps a tenant transaction to its own jobs', async () => {
    const b = await createTestTenant(t);
    await t.db.transaction((tx) => enqueueJob(tx, { kind: 'test.rls', tenantId: b.tenantId }), {
      tenantId: b.tenantId,
    });
    const seen = await t.db.transaction(
      (tx) => tx.query<{ n: number }>(`SELECT count(*)::int AS n FROM jobs WHERE kind = 'test.rls'`),
      { tenantId: a.tenantId },
    );
    expect(seen.rows[0].n).toBe(0);
    await expect(
      t.db.transaction((tx) => enqueueJob(tx, { kind: 'test.rls', tenantId: b.tenantId }), {
        tenantId: a.tenantId,
      }),
    ).rejects.toThrow();
  });
});

describe('job retention', () => {
  it('deletes finished jobs past their retention, never queued or running ones', async () => {
    const { purgeFinishedJobs } = await import('../src/jobs/queue.js');
    const ids: Record<string, string> = {};
    for (const [name, status, daysAgo] of [
      ['oldDone', 'done', 8],
      ['newDone', 'done', 6],
      ['oldFailed', 'failed', 31],
      ['newFailed', 'failed', 8],
      ['oldQueued', 'queued', 60],
      ['oldRunning', 'running', 60],
    ] as const) {
      const id = await t.db.transaction(
        (tx) => enqueueJob(tx, { kind: 'test.retention', tenantId: a.tenantId, payload: {} }),
        { tenantId: a.tenantId },
      );
      await t.db.query(
        `UPDATE jobs SET status = $2, finished_at = CASE WHEN $2 IN ('done', 'failed') THEN now() - make_interval(days => $3) END,
                created_at = now() - make_interval(days => $3) WHERE id = $1`,
        [id, status, daysAgo],
      );
      ids[name] = id;
    }
    let purged = 0;
    for (let n = await purgeFinishedJobs(t.db, 1); n > 0; n = await purgeFinishedJobs(t.db, 1)) purged += n;
    expect(purged).toBeGreaterThanOrEqual(2);
    const { rows } = await t.db.query<{ id: string }>('SELECT id FROM jobs WHERE id = ANY($1::uuid[])', [
      Object.values(ids),
    ]);
    const left = new Set(rows.map((r) => r.id));
    expect(left.has(ids.oldDone)).toBe(false);
    expect(left.has(ids.oldFailed)).toBe(false);
    for (const kept of ['newDone', 'newFailed', 'oldQueued', 'oldRunning'])
      expect(left.has(ids[kept]), kept).toBe(true);
  });
});

describe('job locks', () => {
  it('a job at work renews its claim, so no other worker takes it over', async () => {
    const { claimJob, renewJobLock } = await import('../src/jobs/queue.js');
    const id = await t.db.transaction(
      (tx) => enqueueJob(tx, { kind: 'test.renew', tenantId: a.tenantId, payload: {} }),
      { tenantId: a.tenantId },
    );
    const claimed = await claimJob(t.db, ['test.renew'], 'worker-1', 1);
    expect(claimed?.id).toBe(id);
    await renewJobLock(t.db, id, 900);
    const { rows } = await t.db.query<{ left: number }>(
      'SELECT extract(epoch FROM locked_until - now())::int AS left FROM jobs WHERE id = $1',
      [id],
    );
    expect(rows[0].left).toBeGreaterThan(800);
    await new Promise((r) => setTimeout(r, 1_100));
    expect(await claimJob(t.db, ['test.renew'], 'worker-2', 60)).toBeNull();
  });
});
