import { randomBytes } from 'node:crypto';
import os from 'node:os';
import type { FastifyBaseLogger } from 'fastify';
import { type Database, isDatabaseUnavailable } from '../db/database.js';
import { backoffDelayMs, claimJob, completeJob, failJob, heartbeatJob, type Job } from './queue.js';

/** Thrown by a handler for a failure that retrying cannot fix: the job fails at once. */
export class PermanentJobError extends Error {}

export interface JobHandlerOptions {
  /** When to try again after failed attempt n, or null for never (default: backoff 5 s … 1 h). */
  retryAt?: (attempt: number, error: unknown) => Date | null;
}

export type JobHandler = (job: Job) => Promise<void>;

interface Registered {
  handle: JobHandler;
  options: JobHandlerOptions;
}

interface Periodic {
  name: string;
  intervalMs: number;
  fn: () => Promise<unknown>;
  timer?: NodeJS.Timeout;
  running?: Promise<unknown>;
}

const defaultRetry = (attempt: number) => new Date(Date.now() + backoffDelayMs(attempt, 5_000, 3_600_000));

/**
 * Runs background jobs from the `jobs` table and periodic sweeps. One runner per process; any
 * number of processes may share the queue (claims use FOR UPDATE SKIP LOCKED). Jobs run one at a
 * time per runner: PGlite has a single connection and PostgreSQL deployments scale by processes.
 */
export class JobRunner {
  readonly workerId = `${os.hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  private readonly handlers = new Map<string, Registered>();
  private readonly periodics: Periodic[] = [];
  private pollTimer: NodeJS.Timeout | undefined;
  private loop: Promise<void> | undefined;
  private wanted = false;
  private started = false;
  /** While the database is out of reach, polling and sweeps pause until this time (ms). */
  private pausedUntil = 0;
  private pauses = 0;

  /**
   * @param leaseSeconds how long a claim holds without a heartbeat: the runner renews it every
   *   third of that while the handler runs, so a worker that died (kill -9, lost host) has its job
   *   taken over after at most this long, and a live one never loses a long job.
   */
  constructor(
    private readonly db: Database,
    private readonly log: FastifyBaseLogger | null,
    private readonly pollMs = 1_000,
    private readonly leaseSeconds = 60,
  ) {}

  register(kind: string, handle: JobHandler, options: JobHandlerOptions = {}): void {
    if (this.handlers.has(kind)) throw new Error(`job kind ${kind} registered twice`);
    this.handlers.set(kind, { handle, options });
  }

  /** A sweep run every intervalMs while the runner is started (and on demand by runPeriodic). */
  addPeriodic(name: string, intervalMs: number, fn: () => Promise<unknown>): void {
    this.periodics.push({ name, intervalMs, fn });
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.pollTimer = setInterval(() => this.nudge(), this.pollMs);
    this.pollTimer.unref();
    for (const p of this.periodics) {
      p.timer = setInterval(() => {
        if (Date.now() >= this.pausedUntil) void this.runPeriodic(p.name);
      }, p.intervalMs);
      p.timer.unref();
    }
    this.nudge();
  }

  /** Asks the started runner to look for due jobs now (after an enqueue, say). */
  nudge(): void {
    if (!this.started || Date.now() < this.pausedUntil) return;
    this.wanted = true;
    this.loop ??= this.work().finally(() => {
      this.loop = undefined;
    });
  }

  private async work(): Promise<void> {
    while (this.wanted && this.started) {
      this.wanted = false;
      try {
        while (this.started && (await this.runOne())) this.wanted = false;
      } catch (err) {
        if (!this.backOff(err)) this.log?.error({ err }, 'job runner: claim failed');
      }
    }
  }

  /**
   * Runs due jobs until none is left (or `max` ran). Used by tests, the CLI and `hearth worker`;
   * returns how many ran.
   */
  async drain(max = 10_000): Promise<number> {
    let n = 0;
    while (n < max && (await this.runOne())) n++;
    return n;
  }

  /** Claims and runs one due job; false when none was due. */
  async runOne(): Promise<boolean> {
    const kinds = [...this.handlers.keys()];
    if (kinds.length === 0) return false;
    const job = await claimJob(this.db, kinds, this.workerId, this.leaseSeconds);
    this.resumed();
    if (!job) return false;
    const registered = this.handlers.get(job.kind);
    if (!registered) return true;
    const heartbeat = setInterval(
      () => {
        heartbeatJob(this.db, job.id, this.workerId, this.leaseSeconds).catch((err) =>
          // A missed beat is harmless while the lease lasts; the next one tries again.
          this.log?.debug({ err, job_id: job.id }, 'job heartbeat failed'),
        );
      },
      (this.leaseSeconds * 1000) / 3,
    );
    heartbeat.unref();
    try {
      await registered.handle(job);
      clearInterval(heartbeat);
      await completeJob(this.db, job.id, this.workerId);
    } catch (err) {
      clearInterval(heartbeat);
      const retry =
        err instanceof PermanentJobError
          ? null
          : (registered.options.retryAt ?? defaultRetry)(job.attempts, err);
      const message = err instanceof Error ? err.message : String(err);
      this.log?.warn(
        { job_id: job.id, kind: job.kind, attempt: job.attempts, err: message },
        'job attempt failed',
      );
      await failJob(this.db, job, this.workerId, message, retry);
    }
    return true;
  }

  /** Runs one periodic sweep now (never twice at once). */
  async runPeriodic(name: string): Promise<void> {
    const p = this.periodics.find((x) => x.name === name);
    if (!p) throw new Error(`no periodic task ${name}`);
    if (p.running) {
      await p.running;
      return;
    }
    p.running = p.fn().catch((err) => {
      if (!this.backOff(err)) this.log?.error({ err, task: name }, 'periodic task failed');
    });
    try {
      await p.running;
    } finally {
      p.running = undefined;
    }
  }

  /**
   * A database that went away pauses polling and sweeps, 1 s doubling to 30 s, instead of failing
   * every tick; the first claim that works again resumes them. False for any other error.
   */
  private backOff(err: unknown): boolean {
    if (!isDatabaseUnavailable(err)) return false;
    this.pauses++;
    this.pausedUntil = Date.now() + Math.min(30_000, 1_000 * 2 ** Math.min(this.pauses - 1, 5));
    if (this.pauses === 1)
      this.log?.warn({ err }, 'database unavailable: background work pauses and retries');
    return true;
  }

  private resumed(): void {
    if (this.pauses === 0) return;
    this.pauses = 0;
    this.pausedUntil = 0;
    this.log?.warn('database reachable again: background work resumes');
  }

  /** Stops polling and waits for the job in hand to finish. */
  async stop(): Promise<void> {
    this.started = false;
    if (this.pollTimer) clearInterval(this.pollTimer);
    for (const p of this.periodics) if (p.timer) clearInterval(p.timer);
    await this.loop;
    await Promise.all(this.periodics.map((p) => p.running));
  }
}
