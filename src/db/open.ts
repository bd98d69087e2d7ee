import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { cube } from '@electric-sql/pglite/contrib/cube';
import { earthdistance } from '@electric-sql/pglite/contrib/earthdistance';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import pg from 'pg';
import { acquireDataLock, type DataLock, restrictDataDir } from './data-lock.js';
import type { Database } from './database.js';
import { PGLITE_PARSERS, PgliteDatabase } from './pglite-database.js';
import { PostgresDatabase, TYPE_PARSERS } from './postgres-database.js';

export const PGLITE_EXTENSIONS = { pg_trgm, cube, earthdistance, btree_gist, citext, pgcrypto };

export interface OpenOptions {
  databaseUrl: string | null;
  dataDir: string;
  poolSize?: number;
  /** Longest wait for a free connection (or for connecting) before DatabaseUnavailableError. */
  poolWaitMs?: number;
  /** A PGlite data directory dump (tar) to start from, used by tests to skip migrations. */
  pgliteSnapshot?: Blob;
  /** Who takes the embedded data folder's lock (default `cli`). */
  holder?: 'server' | 'cli';
}

export async function openPglite(dataDir: string, snapshot?: Blob, lock?: DataLock): Promise<PgliteDatabase> {
  const pglite = await PGlite.create({
    dataDir,
    extensions: PGLITE_EXTENSIONS,
    parsers: PGLITE_PARSERS,
    ...(snapshot ? { loadDataDir: snapshot } : {}),
  });
  return new PgliteDatabase(pglite, lock);
}

export async function openPostgres(url: string, poolSize = 10, poolWaitMs = 5000): Promise<Database> {
  const pool = new pg.Pool({
    connectionString: url,
    max: poolSize,
    idleTimeoutMillis: 30_000,
    // Bounded: under connection pressure a request waits this long, then gets 503 + Retry-After.
    connectionTimeoutMillis: poolWaitMs,
    types: TYPE_PARSERS,
  });
  // An idle client that loses its server must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  return new PostgresDatabase(pool);
}

/**
 * The embedded database in its folder: owner-only (folder 0700, files chmod-ed at open and close)
 * and the folder's lock, held until the database is closed; a folder another live process holds
 * throws DataDirLockedError before anything is opened.
 */
export async function openEmbedded(dataDir: string, holder: 'server' | 'cli'): Promise<PgliteDatabase> {
  restrictDataDir(dataDir);
  const lock = acquireDataLock(dataDir, holder);
  try {
    return await openPglite(dataDir, undefined, lock);
  } catch (err) {
    lock.release();
    throw err;
  }
}

/** `databaseUrl` null: PGlite persisted in dataDir; `memory://`: in-memory PGlite; else PostgreSQL. */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  const { databaseUrl, dataDir } = options;
  if (databaseUrl === 'memory://') return openPglite('memory://', options.pgliteSnapshot);
  if (databaseUrl === null) return openEmbedded(dataDir, options.holder ?? 'cli');
  return openPostgres(databaseUrl, options.poolSize, options.poolWaitMs);
}
