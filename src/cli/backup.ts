import fs from 'node:fs';
import { loadConfig } from '../config.js';
import { DataDirLockedError, dataLockHolder } from '../db/data-lock.js';
import { openDatabase } from '../db/open.js';
import { BackupRefused, PG_BACKUP_GUIDANCE, restoreEmbedded, snapshotEmbedded } from '../ops/backup.js';
import { runningServerApi } from './remote.js';

/** `hearth backup FILE`: through the running server's API when one holds the folder, else directly. */
export async function backupCommand(args: string[]): Promise<number> {
  const [file] = args;
  if (!file) {
    process.stderr.write('usage: hearth backup FILE   (embedded database; a gzip tar of its data folder)\n');
    return 2;
  }
  const config = loadConfig();
  if (config.databaseUrl !== null) {
    process.stderr.write(`hearth backup is for the embedded database: ${PG_BACKUP_GUIDANCE}\n`);
    return 2;
  }
  const api = await runningServerApi(config);
  let data: Buffer;
  if (api) {
    data = await api.download('/api/v1/backup');
  } else {
    const db = await openDatabase({ databaseUrl: null, dataDir: config.dataDir });
    try {
      data = await snapshotEmbedded(db);
    } finally {
      await db.close();
    }
  }
  fs.writeFileSync(file, data, { mode: 0o600 });
  process.stdout.write(`backup written to ${file} (${data.length} bytes)\n`);
  return 0;
}

/** `hearth restore FILE`: into an empty HEARTH_DATA_DIR, with no server running on it. */
export async function restoreCommand(args: string[]): Promise<number> {
  const [file] = args;
  if (!file) {
    process.stderr.write('usage: hearth restore FILE   (into an empty HEARTH_DATA_DIR)\n');
    return 2;
  }
  const config = loadConfig();
  if (config.databaseUrl !== null) {
    process.stderr.write(`hearth restore is for the embedded database: ${PG_BACKUP_GUIDANCE}\n`);
    return 2;
  }
  const holder = dataLockHolder(config.dataDir);
  if (holder) throw new DataDirLockedError(config.dataDir, holder);
  try {
    await restoreEmbedded(file, config.dataDir);
  } catch (err) {
    if (err instanceof BackupRefused) {
      process.stderr.write(`hearth: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  process.stdout.write(`restored ${file} into ${config.dataDir}; start the server on it\n`);
  return 0;
}
