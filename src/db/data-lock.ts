import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Who holds an embedded data folder. */
export interface DataLockInfo {
  pid: number;
  hostname: string;
  /** `server` (with the URL its API answers on once listening) or `cli`. */
  holder: 'server' | 'cli';
  url: string | null;
  started_at: string;
}

export class DataDirLockedError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: DataLockInfo,
  ) {
    const who =
      holder.holder === 'server'
        ? `a running Hearth server (pid ${holder.pid}${holder.url ? `, ${holder.url}` : ''})`
        : `another hearth command (pid ${holder.pid})`;
    super(
      `the data folder ${dataDir} is in use by ${who}: the embedded database belongs to one process. ` +
        (holder.holder === 'server'
          ? 'Stop that server first, or use its API (the admin commands tenant, client and keys do so by themselves).'
          : 'Wait for it to finish.'),
    );
    this.name = 'DataDirLockedError';
  }
}

const LOCK_FILE = 'hearth.lock';

function alive(info: DataLockInfo): boolean {
  if (info.hostname !== os.hostname()) return true; // cannot tell: treat as held
  try {
    process.kill(info.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function read(file: string): DataLockInfo | null {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as DataLockInfo;
  } catch {
    return null;
  }
}

/** The live holder of a data folder, or null when it is free (a lock left by a dead process is ignored). */
export function dataLockHolder(dataDir: string): DataLockInfo | null {
  const info = read(path.join(dataDir, LOCK_FILE));
  return info && alive(info) ? info : null;
}

export interface DataLock {
  /** The server records where its API answers, for the command line. */
  setUrl(url: string): void;
  /** Leaves the folder owner-only and frees it. */
  release(): void;
}

/**
 * Takes the embedded data folder for this process: a lock file created exclusively (O_EXCL),
 * naming the process. A lock whose process is gone (crash, kill -9) is taken over. PGlite has no
 * lock of its own, and two processes writing one folder corrupt it (docs/decisions/0091).
 */
export function acquireDataLock(dataDir: string, holder: 'server' | 'cli'): DataLock {
  const file = path.join(dataDir, LOCK_FILE);
  const info: DataLockInfo = {
    pid: process.pid,
    hostname: os.hostname(),
    holder,
    url: null,
    started_at: new Date().toISOString(),
  };
  for (let attempt = 0; ; attempt++) {
    try {
      fs.writeFileSync(file, JSON.stringify(info), { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const current = read(file);
      if (current && alive(current)) throw new DataDirLockedError(dataDir, current);
      if (attempt >= 3) throw new DataDirLockedError(dataDir, current ?? info);
      // Left by a dead process (or half-written): remove it and try again; O_EXCL picks one winner.
      fs.rmSync(file, { force: true });
    }
  }
  let released = false;
  return {
    setUrl(url) {
      info.url = url;
      fs.writeFileSync(file, JSON.stringify(info), { mode: 0o600 });
    },
    release() {
      if (released) return;
      released = true;
      // PGlite creates its files 0666 whatever the umask; the folder is 0700, and at close so are they.
      restrictDataDir(dataDir);
      const current = read(file);
      if (current?.pid === info.pid && current.started_at === info.started_at)
        fs.rmSync(file, { force: true });
    },
  };
}

/**
 * Owner-only data folder: the folder 0700 (so nothing in it is reachable by other users) and every
 * file in it without group or other access. PGlite creates files 0666 whatever the umask, so this
 * runs when the folder is opened and again when it is closed.
 */
export function restrictDataDir(dataDir: string): void {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const walk = (p: string) => {
    const st = fs.lstatSync(p);
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) fs.chmodSync(p, st.mode & 0o700);
    if (st.isDirectory()) for (const name of fs.readdirSync(p)) walk(path.join(p, name));
  };
  walk(dataDir);
}
