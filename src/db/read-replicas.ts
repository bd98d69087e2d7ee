import type { FastifyBaseLogger } from 'fastify';
import {
  type Database,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
  isPgError,
  type PoolStats,
  type Rows,
  type Tx,
  type TxOptions,
} from './database.js';
import { openPostgres } from './open.js';

/** How often every replica's state and lag are checked. */
export const REPLICA_CHECK_INTERVAL_MS = 2000;

/** SQLSTATE of a write refused by a standby (read-only transaction). */
const READ_ONLY_SQL_TRANSACTION = '25006';

export interface ReadReplicaOptions {
  /** A replica further behind than this is not used until it catches up. */
  maxLagMs: number;
  poolSize: number;
  poolWaitMs: number;
  log?: FastifyBaseLogger | null;
  /** Opens one replica's pool (tests replace it). */
  open?: (url: string) => Promise<Database>;
}

export interface ReplicaState {
  /** The URL without its password. */
  url: string;
  healthy: boolean;
  /** Seconds behind the primary at the last check (null: unknown, unreachable). */
  lagSeconds: number | null;
  reason: string | null;
}

interface Replica {
  url: string;
  db: Database;
  healthy: boolean;
  lagSeconds: number | null;
  reason: string | null;
}

/**
 * The read-only handles of one process (docs/decisions/0093-read-replica.md): the streaming
 * replicas of HEARTH_READ_DATABASE_URL, checked every 2 s, and the primary they fall back to.
 *
 * A service that only reads asks `for(writer)` for its handle: a healthy replica within the lag
 * bound, round-robin, unless the writer (a client or a signed-in person) wrote through this
 * process within the read-your-writes window, or no replica is usable: then the primary.
 * A statement that fails on a replica because it went away (or because it tried to write)
 * marks the replica unhealthy and is run again on the primary, so callers never see it.
 */
export class ReadReplicas {
  private readonly replicas: Replica[] = [];
  private readonly writers = new Map<string, number>();
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  private checking: Promise<void> | null = null;
  /** Reads served by a replica / by the primary since start (metrics). */
  readonly served = { replica: 0, primary: 0, fallback: 0 };

  constructor(
    private readonly primary: Database,
    private readonly urls: readonly string[],
    private readonly options: ReadReplicaOptions,
  ) {}

  /** Whether any replica is configured at all. */
  get configured(): boolean {
    return this.urls.length > 0;
  }

  /**
   * How long a writer keeps reading from the primary after a write: the lag a replica may have
   * while still in use, plus two check periods (the lag measured may be that old).
   */
  get readYourWritesMs(): number {
    return this.options.maxLagMs + 2 * REPLICA_CHECK_INTERVAL_MS;
  }

  /** Opens the pools and checks every replica once before the first read; then every 2 s. */
  async start(): Promise<void> {
    if (!this.configured) return;
    const open =
      this.options.open ?? ((url) => openPostgres(url, this.options.poolSize, this.options.poolWaitMs));
    for (const url of this.urls) {
      this.replicas.push({
        url: redact(url),
        db: await open(url),
        healthy: false,
        lagSeconds: null,
        reason: 'not checked yet',
      });
    }
    await this.check();
    for (const r of this.replicas) {
      this.options.log?.info(
        { replica: r.url, healthy: r.healthy, lag_seconds: r.lagSeconds, reason: r.reason },
        'read replica',
      );
    }
    this.timer = setInterval(() => {
      void this.check();
    }, REPLICA_CHECK_INTERVAL_MS);
    this.timer.unref();
  }

  /** Remembers that `writer` just wrote: its reads go to the primary for a while. */
  noteWrite(writer: string): void {
    if (!this.configured) return;
    const now = Date.now();
    this.writers.set(writer, now);
    // Forget writers whose window passed (bounded memory: one entry per recent writer).
    if (this.writers.size > 10_000) {
      for (const [k, at] of this.writers) if (now - at > this.readYourWritesMs) this.writers.delete(k);
    }
  }

  /** Whether `writer` wrote through this process within the read-your-writes window. */
  isRecentWriter(writer: string | null): boolean {
    if (writer === null) return false;
    const at = this.writers.get(writer);
    if (at === undefined) return false;
    if (Date.now() - at <= this.readYourWritesMs) return true;
    this.writers.delete(writer);
    return false;
  }

  /** The handle a read of `writer` uses (null: a read of no particular caller, e.g. a job). */
  for(writer: string | null): Database {
    if (this.replicas.length === 0 || this.isRecentWriter(writer)) return this.countPrimary();
    for (let i = 0; i < this.replicas.length; i++) {
      const r = this.replicas[(this.next + i) % this.replicas.length];
      if (r.healthy) {
        this.next = (this.next + i + 1) % this.replicas.length;
        return new ReplicaHandle(r, this.primary, this);
      }
    }
    return this.countPrimary();
  }

  private countPrimary(): Database {
    this.served.primary++;
    return this.primary;
  }

  /** The state of every replica at its last check (readiness details, metrics). */
  states(): ReplicaState[] {
    return this.replicas.map((r) => ({
      url: r.url,
      healthy: r.healthy,
      lagSeconds: r.lagSeconds,
      reason: r.reason,
    }));
  }

  /** Pool statistics of every replica. */
  poolStats(): { url: string; stats: PoolStats }[] {
    return this.replicas.map((r) => ({ url: r.url, stats: r.db.stats() }));
  }

  /** A replica that failed under a read: out of use until a check finds it well again. */
  markDown(replica: Replica, err: unknown): void {
    if (replica.healthy) {
      this.options.log?.warn({ replica: replica.url, err }, 'read replica failed: reads go to the primary');
    }
    replica.healthy = false;
    replica.reason = err instanceof Error ? err.message : String(err);
  }

  /** Checks every replica (at most one check at a time). */
  check(): Promise<void> {
    this.checking ??= Promise.all(this.replicas.map((r) => this.checkOne(r))).then(
      () => {
        this.checking = null;
      },
      () => {
        this.checking = null;
      },
    );
    return this.checking;
  }

  private async checkOne(r: Replica): Promise<void> {
    const wasHealthy = r.healthy;
    try {
      // A standby is current when everything it received is replayed and it is still receiving;
      // otherwise its lag is the age of the last transaction it replayed. The primary's own
      // clock is not needed: both clocks are this machine's or NTP-synchronised.
      const { rows } = await r.db.query<{ standby: boolean; streaming: boolean; lag: number | null }>(
        `SELECT pg_is_in_recovery() AS standby,
                EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') AS streaming,
                CASE WHEN NOT pg_is_in_recovery() THEN 0
                     WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn()
                          AND EXISTS (SELECT 1 FROM pg_stat_wal_receiver WHERE status = 'streaming') THEN 0
                     ELSE extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8 END AS lag`,
      );
      const row = rows[0];
      r.lagSeconds = row.lag ?? null;
      if (!row.standby) {
        // A promoted standby or a primary named by mistake: usable (it is current by definition).
        r.healthy = true;
        r.reason = null;
      } else if (r.lagSeconds === null || r.lagSeconds * 1000 > this.options.maxLagMs) {
        r.healthy = false;
        r.reason =
          r.lagSeconds === null ? 'lag unknown (nothing replayed yet)' : `lags ${r.lagSeconds.toFixed(1)} s`;
      } else {
        r.healthy = true;
        r.reason = null;
      }
    } catch (err) {
      r.healthy = false;
      r.lagSeconds = null;
      r.reason = err instanceof Error ? err.message : String(err);
    }
    // The first check is logged by start(); later changes of state here.
    if (wasHealthy !== r.healthy && this.timer !== null) {
      this.options.log?.[r.healthy ? 'info' : 'warn'](
        { replica: r.url, lag_seconds: r.lagSeconds, reason: r.reason },
        r.healthy ? 'read replica in use' : 'read replica not used: reads go to the primary',
      );
    }
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    await this.checking;
    await Promise.all(this.replicas.map((r) => r.db.close().catch(() => {})));
    this.replicas.length = 0;
  }
}

/** Whether a failure on a replica should send the read to the primary instead. */
function fallsBack(err: unknown): boolean {
  return isDatabaseUnavailable(err) || (isPgError(err) && err.code === READ_ONLY_SQL_TRANSACTION);
}

/**
 * One read on one replica. Only reads are given this handle, so running a failed transaction
 * again on the primary repeats no effect.
 */
class ReplicaHandle implements Database {
  readonly kind = 'postgres' as const;
  readonly pglite = null;

  constructor(
    private readonly replica: Replica,
    private readonly primary: Database,
    private readonly owner: ReadReplicas,
  ) {}

  private async run<T>(onReplica: () => Promise<T>, onPrimary: () => Promise<T>): Promise<T> {
    try {
      const result = await onReplica();
      this.owner.served.replica++;
      return result;
    } catch (err) {
      if (!fallsBack(err)) throw err;
      if (isPgError(err) && err.code === READ_ONLY_SQL_TRANSACTION) {
        // A write on a read handle is a bug of the caller; the primary still answers.
        this.owner.markDown(this.replica, new Error(`a write reached the replica: ${err.message}`));
      } else {
        this.owner.markDown(this.replica, err instanceof DatabaseUnavailableError ? err.reason : err);
      }
      this.owner.served.fallback++;
      return onPrimary();
    }
  }

  query<R>(text: string, params?: readonly unknown[]): Promise<Rows<R>> {
    return this.run(
      () => this.replica.db.query<R>(text, params),
      () => this.primary.query<R>(text, params),
    );
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>, options?: TxOptions): Promise<T> {
    return this.run(
      () => this.replica.db.transaction(fn, options),
      () => this.primary.transaction(fn, options),
    );
  }

  exec(): Promise<void> {
    throw new Error('a read replica handle runs no scripts');
  }

  stats(): PoolStats {
    return this.replica.db.stats();
  }

  async close(): Promise<void> {
    // The pool belongs to ReadReplicas.
  }
}

/** A connection URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'invalid URL';
  }
}
