import { EventEmitter } from 'node:events';
import type { ImportRow } from './repo.js';
import type { ImportView } from './schemas.js';

export interface LiveProgress {
  phase: 'validating' | 'checking' | 'applying';
  done: number;
  total: number;
}

/**
 * Progress of the runs this process is working on. An all-or-nothing apply is one transaction,
 * invisible to other sessions until it commits: the board lets GET and the CLI follow it live.
 */
export class ProgressBoard extends EventEmitter<{ progress: [string, LiveProgress] }> {
  private readonly live = new Map<string, LiveProgress>();

  set(importId: string, p: LiveProgress): void {
    this.live.set(importId, p);
    this.emit('progress', importId, p);
  }

  get(importId: string): LiveProgress | undefined {
    return this.live.get(importId);
  }

  clear(importId: string): void {
    this.live.delete(importId);
  }
}

const pct = (done: number, total: number) => (total === 0 ? 1 : Math.min(1, done / total));

export function progressOf(imp: ImportRow, live: LiveProgress | undefined): ImportView['progress'] {
  if (imp.status === 'completed' || imp.status === 'failed' || imp.status === 'rolled_back') {
    return { phase: 'done', rows_done: imp.rows_read, rows_total: imp.rows_read, percent: 100 };
  }
  if (imp.status === 'queued')
    return { phase: 'queued', rows_done: 0, rows_total: imp.rows_read, percent: 0 };
  if (imp.status === 'validating') {
    if (imp.checked || live?.phase === 'checking') {
      return { phase: 'checking', rows_done: imp.rows_read, rows_total: imp.rows_read, percent: 50 };
    }
    const done = Math.max(imp.rows_validated, live?.phase === 'validating' ? live.done : 0);
    const percent = Math.round(50 * pct(done, imp.rows_read) * 10) / 10;
    return { phase: 'validating', rows_done: done, rows_total: imp.rows_read, percent };
  }
  const done = Math.max(imp.rows_applied, live?.phase === 'applying' ? live.done : 0);
  const total = imp.rows_to_apply;
  return {
    phase: 'applying',
    rows_done: done,
    rows_total: total,
    percent: Math.round((50 + 50 * pct(done, total)) * 10) / 10,
  };
}

export function toView(imp: ImportRow, live: LiveProgress | undefined): ImportView {
  return {
    import_id: imp.id,
    status: imp.status,
    format: imp.format,
    mode: imp.mode,
    on_duplicate: imp.on_duplicate,
    dry_run: imp.dry_run,
    filename: imp.filename,
    bytes: Number(imp.byte_size),
    sha256: imp.sha256,
    counts: {
      rows_read: imp.rows_read,
      valid: imp.rows_valid,
      created: imp.rows_created,
      updated: imp.rows_updated,
      skipped: imp.rows_skipped,
      rejected: imp.rows_rejected,
    },
    progress: progressOf(imp, live),
    error: imp.error,
    created_by: imp.created_by,
    source_system: imp.source_system,
    created_at: imp.created_at.toISOString(),
    started_at: imp.started_at?.toISOString() ?? null,
    finished_at: imp.finished_at?.toISOString() ?? null,
  };
}
