import type { Queryable } from '../db/database.js';
import { uuidv7 } from '../lib/ids.js';

export type JobStatus = 'queued' | 'running' | 'done' | 'failed';

export interface Job {
  id: string;
  tenant_id: string | null;
  kind: string;
  payload: Record<string, unknown>;
  status: JobStatus;
  run_at: Date;
  attempts: number;
  max_attempts: number;
  last_error: string | null;
}

export interface NewJob {
  kind: string;
  tenantId: string | null;
  payload?: Record<string, unknown>;
  /** Not before this time (default: now). */
  runAt?: Date;
  maxAttempts?: number;
}

/**
 * Writes a job in the caller's transaction: it becomes visible to workers only if that
 * transaction commits. Returns the job id.
 */
export async function enqueueJob(q: Queryable, job: NewJob): Promise<string> {
  const id = uuidv7();
  await q.query(
    `INSERT INTO jobs (id, tenant_id, kind, payload, run_at, max_attempts)
     VALUES ($1, $2, $3, $4, COALESCE($5::timestamptz, now()), $6)`,
    [
      id,
      job.tenantId,
      job.kind,
      JSON.stringify(job.payload ?? {}),
      job.runAt?.toISOString() ?? null,
      job.maxAttempts ?? 5,
    ],
  );
  return id;
}

/**
 * Claims the oldest due job of the given kinds: queued and due, or running with an expired lock
 * (its worker died). The claim commits at once, so a crash mid-job leaves a lock that expires.
 */
export async function claimJob(
  q: Queryable,
  kinds: readonly string[],
  workerId: string,
  lockSeconds: number,
): Promise<Job | null> {
  const { rows } = await q.query<Job>(
    `UPDATE jobs j
        SET status = 'running', attempts = j.attempts + 1, locked_by = $2,
            locked_until = now() + make_interval(secs => $3), updated_at = now()
      WHERE j.id = (
        SELECT id FROM jobs
         WHERE kind = ANY($1::text[])
           AND ((status = 'queued' AND run_at <= now()) OR (status = 'running' AND locked_until < now()))
         ORDER BY run_at, id
         LIMIT 1
         FOR UPDATE SKIP LOCKED)
      RETURNING j.id, j.tenant_id, j.kind, j.payload, j.status, j.run_at, j.attempts, j.max_attempts, j.last_error`,
    [kinds, workerId, lockSeconds],
  );
  return rows[0] ?? null;
}

/**
 * The runner's heartbeat: the claim of a job this worker still runs lasts `seconds` more (never
 * less than a handler's own renewal set).
 */
export async function heartbeatJob(
  q: Queryable,
  jobId: string,
  workerId: string,
  seconds: number,
): Promise<void> {
  await q.query(
    `UPDATE jobs SET locked_until = GREATEST(locked_until, now() + make_interval(secs => $3))
      WHERE id = $1 AND locked_by = $2 AND status = 'running'`,
    [jobId, workerId, seconds],
  );
}

/** A long job still at work pushes its claim forward, so no other worker takes it over. */
export async function renewJobLock(q: Queryable, jobId: string, seconds: number): Promise<void> {
  await q.query(
    `UPDATE jobs SET locked_until = now() + make_interval(secs => $2), updated_at = now()
      WHERE id = $1 AND status = 'running'`,
    [jobId, seconds],
  );
}

export async function completeJob(q: Queryable, id: string, workerId: string): Promise<void> {
  await q.query(
    `UPDATE jobs SET status = 'done', locked_by = NULL, locked_until = NULL, finished_at = now(), updated_at = now()
      WHERE id = $1 AND locked_by = $2`,
    [id, workerId],
  );
}

/** A failed attempt: retried at `retryAt`, or failed for good when attempts are used up or retryAt is null. */
export async function failJob(
  q: Queryable,
  job: Job,
  workerId: string,
  error: string,
  retryAt: Date | null,
): Promise<void> {
  const final = retryAt === null || job.attempts >= job.max_attempts;
  await q.query(
    `UPDATE jobs
        SET status = $3, run_at = COALESCE($4::timestamptz, run_at), last_error = $5,
            locked_by = NULL, locked_until = NULL, updated_at = now(),
            finished_at = CASE WHEN $3 = 'failed' THEN now() END
      WHERE id = $1 AND locked_by = $2`,
    [
      job.id,
      workerId,
      final ? 'failed' : 'queued',
      final ? null : retryAt?.toISOString(),
      error.slice(0, 2000),
    ],
  );
}

/** How long finished jobs stay readable: the work they did is recorded elsewhere (import runs, exchanges). */
export const JOB_RETENTION = { doneDays: 7, failedDays: 30 } as const;

/**
 * Deletes one batch of finished jobs past their retention (done after 7 days, failed after 30);
 * queued and running jobs always stay. Returns how many went, so the caller can loop.
 */
export async function purgeFinishedJobs(q: Queryable, limit = 1000): Promise<number> {
  const { rowCount } = await q.query(
    `DELETE FROM jobs WHERE id IN (
       SELECT id FROM jobs
        WHERE (status = 'done' AND finished_at < now() - make_interval(days => $1))
           OR (status = 'failed' AND finished_at < now() - make_interval(days => $2))
        LIMIT $3
        FOR UPDATE SKIP LOCKED)`,
    [JOB_RETENTION.doneDays, JOB_RETENTION.failedDays, limit],
  );
  return rowCount ?? 0;
}

/** Exponential backoff with full jitter: base · 2^(attempt-1), capped, randomised in [½, 1]. */
export function backoffDelayMs(attempt: number, baseMs: number, capMs: number): number {
  const exp = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + Math.random() * (exp / 2));
}
