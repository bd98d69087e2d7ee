import type { PGlite, Results, Transaction } from '@electric-sql/pglite';
import type { DataLock } from './data-lock.js';
import {
  assertUuid,
  CommitTasks,
  type Database,
  type PoolStats,
  type Rows,
  type Tx,
  type TxOptions,
} from './database.js';

/**
 * Result parsers matching the PostgreSQL driver's: dates stay 'YYYY-MM-DD', numeric is a number,
 * bytea a Buffer.
 */
export const PGLITE_PARSERS = {
  1082: (v: string) => v,
  1700: (v: string) => Number.parseFloat(v),
  17: (v: string) => Buffer.from(v.startsWith('\\x') ? v.slice(2) : v, 'hex'),
};

/** Like pg's rowCount: rows returned by a query, rows changed by INSERT/UPDATE/DELETE. */
function toRows<R>(res: Results<R>): Rows<R> {
  return { rows: res.rows, rowCount: res.fields.length > 0 ? res.rows.length : (res.affectedRows ?? 0) };
}

/**
 * The embedded engine through PGlite's own API (its node-postgres adapter loses the connection
 * after the first failed statement). PGlite has one session: statements and transactions queue.
 * Never call the database itself from inside a transaction callback, it would wait forever.
 */
export class PgliteDatabase implements Database {
  readonly kind = 'pglite' as const;
  private active = 0;

  constructor(
    readonly pglite: PGlite,
    /** The data folder's lock, when this instance owns a folder (released on close). */
    readonly lock?: DataLock,
  ) {}

  private async track<T>(fn: () => Promise<T>): Promise<T> {
    this.active++;
    try {
      return await fn();
    } finally {
      this.active--;
    }
  }

  query<R>(text: string, params?: readonly unknown[]): Promise<Rows<R>> {
    return this.track(async () => {
      return toRows(await this.pglite.query<R>(text, params as unknown[] | undefined));
    });
  }

  async exec(sql: string): Promise<void> {
    await this.track(() => this.pglite.exec(sql));
  }

  transaction<T>(fn: (tx: Tx) => Promise<T>, options: TxOptions = {}): Promise<T> {
    const tenantId = options.tenantId ?? null;
    return this.track(() =>
      this.pglite.transaction(async (raw: Transaction) => {
        if (tenantId !== null) {
          await raw.exec(
            `SET LOCAL ROLE hearth_app; SELECT set_config('app.tenant_id', '${assertUuid(tenantId)}', true)`,
          );
        }
        const tx: Tx = {
          tenantId,
          raw: { kind: 'pglite', tx: raw },
          query: async <R>(text: string, params?: readonly unknown[]): Promise<Rows<R>> => {
            return toRows(await raw.query<R>(text, params as unknown[] | undefined));
          },
          exec: async (sql: string) => {
            await raw.exec(sql);
          },
          beforeCommit: (task) => commitTasks.add(task),
        };
        const commitTasks = new CommitTasks();
        const result = await fn(tx);
        await commitTasks.run();
        return result;
      }),
    );
  }

  stats(): PoolStats {
    // One connection, no pool: nothing to wait for at this level (transactions queue in PGlite).
    return {
      total: 1,
      idle: this.active === 0 ? 1 : 0,
      waiting: Math.max(0, this.active - 1),
      max: 1,
      acquired: 0,
      waitSeconds: 0,
      waitTimeouts: 0,
    };
  }

  async close(): Promise<void> {
    try {
      await this.pglite.close();
    } finally {
      this.lock?.release();
    }
  }
}
