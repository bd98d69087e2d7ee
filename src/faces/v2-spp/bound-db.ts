import type { Database, Tx } from '../../db/database.js';

/**
 * A Database whose every transaction is one already open transaction: domain services built
 * over it run their work inside the caller's unit of work (a V2 request or a whole `$batch`
 * transaction), so several service calls commit or roll back together. A transaction for
 * another tenant, or a system one, is refused rather than silently joined.
 */
export function boundDatabase(tx: Tx, kind: Database['kind']): Database {
  return {
    kind,
    pglite: null,
    query: (text, params) => tx.query(text, params),
    exec: (sql) => tx.exec(sql),
    transaction(fn, options) {
      if ((options?.tenantId ?? null) !== tx.tenantId) {
        return Promise.reject(new Error('a unit of work cannot open a transaction for another tenant'));
      }
      return fn(tx);
    },
    stats: () => ({ total: 1, idle: 0, waiting: 0, max: 1, acquired: 0, waitSeconds: 0, waitTimeouts: 0 }),
    close: async () => {},
  };
}
