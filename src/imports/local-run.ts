import os from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Actor } from '../auth/principal.js';
import type { Database } from '../db/database.js';
import { requireTenant } from '../db/tx.js';
import { completeJob, failJob } from '../jobs/queue.js';
import { PermanentJobError } from '../jobs/runner.js';
import { IMPORT_LOCK_SECONDS } from './import-job.js';
import { progressOf } from './progress.js';
import * as repo from './repo.js';
import { TERMINAL } from './schemas.js';
import type { ImportService } from './service.js';

export interface LocalProgress {
  status: string;
  phase: string;
  rows_done: number;
  rows_total: number;
  percent: number;
}

/**
 * Runs one import to its end in this process (the CLI and `hearth demo`): claims its job, runs
 * it, and reports progress as it goes. When another worker holds the job, follows the run from
 * the database instead.
 */
export async function runImportHere(
  db: Database,
  imports: ImportService,
  actor: Actor,
  importId: string,
  onProgress: (p: LocalProgress) => void = () => {},
) {
  const tenantId = requireTenant(actor);
  const workerId = `cli:${os.hostname()}:${process.pid}`;
  const load = () => db.transaction((tx) => repo.findImport(tx, tenantId, importId), { tenantId });
  const listener = (id: string) => {
    if (id !== importId) return;
    const live = imports.progress.get(id);
    if (live) {
      const percent =
        live.phase === 'validating'
          ? (50 * live.done) / Math.max(1, live.total)
          : live.phase === 'checking'
            ? 50
            : 50 + (50 * live.done) / Math.max(1, live.total);
      onProgress({
        status: 'running',
        phase: live.phase,
        rows_done: live.done,
        rows_total: live.total,
        percent,
      });
    }
  };
  imports.progress.on('progress', listener);
  try {
    for (;;) {
      const imp = await load();
      if (!imp) throw new Error(`import ${importId} not found`);
      if ((TERMINAL as readonly string[]).includes(imp.status)) return imports.get(actor, importId);
      const job = imp.job_id ? await repo.claimJobById(db, imp.job_id, workerId, IMPORT_LOCK_SECONDS) : null;
      if (!job) {
        onProgress({ status: imp.status, ...progressOf(imp, undefined) });
        await sleep(1_000);
        continue;
      }
      try {
        await imports.run(job);
        await completeJob(db, job.id, workerId);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        const retry = err instanceof PermanentJobError ? null : new Date(Date.now() + 2_000);
        await failJob(db, job, workerId, message, retry);
        await sleep(2_000);
      }
    }
  } finally {
    imports.progress.off('progress', listener);
  }
}
