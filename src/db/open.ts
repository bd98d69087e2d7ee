import fs from 'node:fs';
import { PGlite } from '@electric-sql/pglite';
import { btree_gist } from '@electric-sql/pglite/contrib/btree_gist';
import { citext } from '@electric-sql/pglite/contrib/citext';
import { cube } from '@electric-sql/pglite/contrib/cube';
import { earthdistance } from '@electric-sql/pglite/contrib/earthdistance';
import { pg_trgm } from '@electric-sql/pglite/contrib/pg_trgm';
import { pgcrypto } from '@electric-sql/pglite/contrib/pgcrypto';
import pg from 'pg';
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
}

export async function openPglite(dataDir: string, snapshot?: Blob): Promise<Database> {
  const pglite = await PGlite.create({
    dataDir,
    extensions: PGLITE_EXTENSIONS,
    parsers: PGLITE_PARSERS,
    ...(snapshot ? { loadDataDir: snapshot } : {}),
  });
  return new PgliteDatabase(pglite);
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

/** `databaseUrl` null: PGlite persisted in dataDir; `memory://`: in-memory PGlite; else PostgreSQL. */
export async function openDatabase(options: OpenOptions): Promise<Database> {
  const { databaseUrl, dataDir } = options;
  if (databaseUrl === 'memory://') return openPglite('memory://', options.pgliteSnapshot);
  if (databaseUrl === null) {
    fs.mkdirSync(dataDir, { recursive: true });
    return openPglite(dataDir);
  }
  return openPostgres(databaseUrl, options.poolSize, options.poolWaitMs);
}
