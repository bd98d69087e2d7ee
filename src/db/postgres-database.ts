import pg from 'pg';
import {
  assertUuid,
  CommitTasks,
  type Database,
  DatabaseUnavailableError,
  isDatabaseUnavailable,
  type PoolStats,
  type Rows,
  type Tx,
  type TxOptions,
} from './database.js';

const OID = { int8: 20, numeric: 1700, date: 1082 } as const;

/**
 * Type parsers shared by both pools (set per pool, never globally): int8 counts and numeric
 * scores as numbers (they stay far below 2^53 and are never money), dates as 'YYYY-MM-DD'
 * strings because a birth date is not an instant and must not shift with a time zone.
 */
export const TYPE_PARSERS: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === OID.int8) return (v: string) => Number.parseInt(v, 10);
    if (oid === OID.numeric) return (v: string) => Number.parseFloat(v);
    if (oid === OID.date) return (v: string) => v;
    return pg.types.getTypeParser(oid, format ?? 'text');
  }) as pg.CustomTypesConfig['getTypeParser'],
};

/** PostgreSQL through a `pg.Pool`. */
export class PostgresDatabase implements Database {
  readonly kind = 'postgres' as const;
  readonly pglite = null;

  private readonly waits = { acquired: 0, seconds: 0, timeouts: 0 };

  constructor(private readonly pool: pg.Pool) {}

  /** A connection from the pool, the wait for it counted (pool metrics). */
  private async acquire(): Promise<pg.PoolClient> {
    const started = performance.now();
    try {
      const client = await this.pool.connect();
      this.waits.acquired++;
      return client;
    } catch (err) {
      if (err instanceof Error && /^timeout exceeded when trying to connect/.test(err.message)) {
        this.waits.timeouts++;
      }
      throw unavailableOr(err);
    } finally {
      this.waits.seconds += (performance.now() - started) / 1000;
    }
  }

  async query<R>(text: string, params?: readonly unknown[]): Promise<Rows<R>> {
    const client = await this.acquire();
    // As in transaction(): a server lost while the client is checked out must not crash the process.
    let lost: unknown;
    const onError = (err: unknown) => {
      lost ??= err;
    };
    client.on('error', onError);
    try {
      const res = await client.query(text, params as unknown[] | undefined);
      return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
    } catch (err) {
      if (isDatabaseUnavailable(err)) lost ??= err;
      throw unavailableOr(err);
    } finally {
      client.off('error', onError);
      client.release(lost === undefined ? undefined : true);
    }
  }

  async exec(sql: string): Promise<void> {
    await this.query(sql);
  }

  async transaction<T>(fn: (tx: Tx) => Promise<T>, options: TxOptions = {}): Promise<T> {
    const client = await this.acquire();
    // A checked-out client has no pool listener: without one, a server that terminates the
    // connection between two statements raises an uncaught 'error' event and ends the process.
    // The failure reaches the caller through the next statement instead.
    let lost: unknown;
    const onError = (err: unknown) => {
      lost ??= err;
    };
    client.on('error', onError);
    const tenantId = options.tenantId ?? null;
    try {
      if (tenantId === null) {
        await client.query('BEGIN');
      } else {
        // One round trip: the tenant id is checked to be a UUID before it is inlined.
        await client.query(
          `BEGIN; SET LOCAL ROLE hearth_app; SELECT set_config('app.tenant_id', '${assertUuid(tenantId)}', true)`,
        );
      }
      const tx: Tx = {
        tenantId,
        raw: { kind: 'postgres', client },
        query: async <R>(text: string, params?: readonly unknown[]): Promise<Rows<R>> => {
          const res = await client.query(text, params as unknown[] | undefined);
          return { rows: res.rows as R[], rowCount: res.rowCount ?? 0 };
        },
        exec: async (sql: string) => {
          await client.query(sql);
        },
        beforeCommit: (task) => commitTasks.add(task),
      };
      const commitTasks = new CommitTasks();
      const result = await fn(tx);
      await commitTasks.run();
      await client.query('COMMIT');
      return result;
    } catch (err) {
      if (lost === undefined && isDatabaseUnavailable(err)) lost = err;
      if (lost === undefined) {
        await client.query('ROLLBACK').catch((rollbackErr) => {
          lost = rollbackErr;
        });
      }
      throw lost === undefined ? err : unavailableOr(isDatabaseUnavailable(err) ? err : lost);
    } finally {
      client.off('error', onError);
      // A broken connection is destroyed, not returned to the pool.
      client.release(lost === undefined ? undefined : true);
    }
  }

  stats(): PoolStats {
    return {
      total: this.pool.totalCount,
      idle: this.pool.idleCount,
      waiting: this.pool.waitingCount,
      max: this.pool.options.max,
      acquired: this.waits.acquired,
      waitSeconds: this.waits.seconds,
      waitTimeouts: this.waits.timeouts,
    };
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** A lost or refused connection becomes DatabaseUnavailableError; anything else is kept. */
function unavailableOr(err: unknown): unknown {
  return isDatabaseUnavailable(err) && !(err instanceof DatabaseUnavailableError)
    ? new DatabaseUnavailableError(err)
    : err;
}
