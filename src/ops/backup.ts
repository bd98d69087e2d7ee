import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import type { Database } from '../db/database.js';
import { PGLITE_EXTENSIONS } from '../db/open.js';
import { PGLITE_PARSERS } from '../db/pglite-database.js';

export class BackupRefused extends Error {}

export const PG_BACKUP_GUIDANCE =
  'on PostgreSQL use pg_dump (logical) or a base backup with WAL archiving for point-in-time recovery; see README "Backups"';

/**
 * A consistent snapshot of the embedded database, gzip-compressed tar of its data folder. It is
 * taken between transactions (PGlite's transaction lock) just after a CHECKPOINT, while the
 * server keeps running; requests wait for the few seconds it takes.
 */
export async function snapshotEmbedded(db: Database): Promise<Buffer> {
  const pglite = db.pglite;
  if (!pglite) throw new BackupRefused(`hearth backup is for the embedded database: ${PG_BACKUP_GUIDANCE}`);
  // CHECKPOINT first (it takes PGlite's transaction lock itself), then the copy while holding that
  // lock: no transaction is open, and what was written since the checkpoint is in the WAL copied too.
  await pglite.exec('CHECKPOINT');
  const blob = await pglite._runExclusiveTransaction(() => pglite.dumpDataDir('gzip'));
  return Buffer.from(await blob.arrayBuffer());
}

/** Writes a backup into an empty (or new) data folder; never over an existing database. */
export async function restoreEmbedded(file: string, dataDir: string): Promise<void> {
  if (fs.existsSync(dataDir) && fs.readdirSync(dataDir).length > 0) {
    throw new BackupRefused(
      `${dataDir} is not empty: restore into a new folder (move the current one away first)`,
    );
  }
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const data = fs.readFileSync(path.resolve(file));
  const pglite = await PGlite.create({
    dataDir,
    extensions: PGLITE_EXTENSIONS,
    parsers: PGLITE_PARSERS,
    loadDataDir: new Blob([data]),
  });
  await pglite.close();
  // The snapshot copied the running server's lock with the folder: it never applies to the copy.
  fs.rmSync(path.join(dataDir, 'hearth.lock'), { force: true });
}
