import type { Tx } from './database.js';

/** pg_trgm's default similarity threshold, the one the `%` operator applies. */
export const TRIGRAM_THRESHOLD = 0.3;

/**
 * SQL that is true when two lower-cased strings are trigram-similar. On PostgreSQL it is the
 * `%` operator, which a GIN trigram index serves. On PGlite 0.5 that operator, used from a
 * transaction under row-level security, intermittently leaves the next statement spinning in
 * the WASM error path (docs/decisions/0006-pglite-trigram-operator.md), so there it is the
 * equivalent `similarity() >= 0.3`: same rows, no index, fine at embedded sizes.
 */
export function trigramMatch(tx: Tx, column: string, param: string): string {
  return tx.raw.kind === 'pglite'
    ? `similarity(${column}, ${param}) >= ${TRIGRAM_THRESHOLD}`
    : `${column} % ${param}`;
}
