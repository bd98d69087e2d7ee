import type { FastifyBaseLogger } from 'fastify';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, forbidden, notFound } from '../http/errors.js';
import { decodeCursor, decodeIdCursor, pageOf } from '../http/pagination.js';
import { neutralizeCell } from '../integrations/formats/csv.js';
import { enqueueJob } from '../jobs/queue.js';
import type { JobRunner } from '../jobs/runner.js';
import { uuidv7 } from '../lib/ids.js';
import type { InputDeps } from '../registry/person-input.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import { createImportJob, IMPORT_JOB } from './import-job.js';
import { ProgressBoard, toView } from './progress.js';
import * as repo from './repo.js';
import type { ImportAccepted, ImportRowError, ImportView } from './schemas.js';
import { type ImportFormat, receiveUpload } from './upload.js';
import type { OnDuplicate } from './validate-row.js';

export interface ImportServiceDeps {
  db: Database;
  input: InputDeps;
  settings: TenantSettingsCache;
  jobs: JobRunner;
  maxBytes: number;
  log: FastifyBaseLogger | null;
}

export interface ImportRequest {
  format: ImportFormat;
  onDuplicate: OnDuplicate;
  mode: 'all_or_nothing' | 'best_effort';
  dryRun: boolean;
  filename: string | null;
  idempotencyKey: string | null;
}

const SWEEP_INTERVAL_MS = 5 * 60_000;
const ORPHAN_CHUNK_SECONDS = 24 * 3600;

const accepted = (imp: repo.ImportRow): ImportAccepted => ({
  import_id: imp.id,
  status: imp.status,
  rows_read: imp.rows_read,
  links: {
    self: `/api/v1/person-imports/${imp.id}`,
    errors: `/api/v1/person-imports/${imp.id}/errors`,
  },
});

const sameRequest = (imp: repo.ImportRow, r: ImportRequest, sha256: string) =>
  imp.sha256 === sha256 &&
  imp.format === r.format &&
  imp.on_duplicate === r.onDuplicate &&
  imp.mode === r.mode &&
  imp.dry_run === r.dryRun;

/** Formula-looking cells are neutralised in CSV exports (spreadsheet injection). */
export function csvCell(value: string | number): string {
  const s = neutralizeCell(String(value));
  return /[",\n\r]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * Bulk person imports: the upload is staged as it streams in, then a job validates, checks and
 * applies it (see import-job.ts). Runs, counts and per-row errors are read here.
 */
export function createImportService(deps: ImportServiceDeps) {
  const { db, jobs } = deps;
  const progress = new ProgressBoard();
  // Rows per staged chunk (one validation transaction) and per apply step; PGlite takes smaller
  // steps because every transaction holds its only connection.
  const sizes = {
    chunkRows: 2_000,
    applyRows: db.kind === 'postgres' ? 20_000 : 2_000,
  };
  const job = createImportJob({
    db,
    input: deps.input,
    settings: deps.settings,
    progress,
    sizes,
    log: deps.log,
  });

  async function load(actor: Actor, id: string): Promise<repo.ImportRow> {
    const tenantId = requireTenant(actor);
    const imp = await tenantTx(db, actor, (tx) => repo.findImport(tx, tenantId, id));
    if (!imp) throw notFound('import');
    return imp;
  }

  async function dropChunks(tenantId: string, importId: string): Promise<void> {
    await db.transaction((tx) => repo.purgeStaging(tx, tenantId, importId), { tenantId }).catch(() => {});
  }

  async function replay(imp: repo.ImportRow, request: ImportRequest, sha256: string) {
    if (!sameRequest(imp, request, sha256)) {
      throw new AppError(
        'ERR_IDEMPOTENCY_MISMATCH',
        'this Idempotency-Key was used with a different file or options',
      );
    }
    return { accepted: accepted(imp), replayed: true };
  }

  /**
   * Start-up and periodic sweep: runs whose job ended for good are closed as failed, ended runs
   * get their scratch rows purged, uploads that never became a run are dropped. On PGlite the
   * database belongs to this one process, so any import claim still held is a dead process's:
   * it is released at once and the run resumes.
   */
  async function recover(atStart = false): Promise<{ closed: number; released: number }> {
    let released = 0;
    if (atStart && db.kind === 'pglite') released = await repo.releaseImportJobLocks(db, IMPORT_JOB);
    const open = await db.transaction((tx) => repo.openImportsWithEndedJobs(tx));
    for (const o of open) {
      const imp = await db.transaction((tx) => repo.findImport(tx, o.tenant_id, o.id), {
        tenantId: o.tenant_id,
      });
      if (imp) await job.close(imp, 'failed', o.last_error ?? 'the import job stopped');
    }
    for (const u of await db.transaction((tx) => repo.unpurgedImports(tx))) {
      const imp = await db.transaction((tx) => repo.findImport(tx, u.tenant_id, u.id), {
        tenantId: u.tenant_id,
      });
      if (imp) await job.purge(imp);
    }
    await db.transaction((tx) => repo.purgeOrphanChunks(tx, ORPHAN_CHUNK_SECONDS));
    if (released > 0) jobs.nudge();
    return { closed: open.length, released };
  }

  return {
    progress,
    run: job.run,

    /** Changes the chunk and apply step sizes (tests, benchmarks). */
    configure(next: Partial<typeof sizes>): void {
      Object.assign(sizes, next);
    },

    /** Stages the upload and queues its run; 202 material. A replayed Idempotency-Key returns the first run. */
    async create(
      actor: Actor,
      body: AsyncIterable<Buffer | string>,
      request: ImportRequest,
    ): Promise<{ accepted: ImportAccepted; replayed: boolean }> {
      const tenantId = requireTenant(actor);
      if (actor.principal.consentBound) {
        throw forbidden(
          'consent-bound clients cannot import persons: they do not see the registry they would match',
        );
      }
      const createdBy = actor.principal.clientId;
      const key = request.idempotencyKey;
      const earlier = key
        ? await tenantTx(db, actor, (tx) => repo.findByIdempotencyKey(tx, tenantId, createdBy, key))
        : null;
      const importId = uuidv7();
      const sink = earlier
        ? { write: async () => {} }
        : {
            write: (seq: number, rows: Parameters<typeof repo.insertChunk>[4]) =>
              db.transaction((tx) => repo.insertChunk(tx, tenantId, importId, seq, rows), { tenantId }),
          };
      let summary: Awaited<ReturnType<typeof receiveUpload>>;
      try {
        summary = await receiveUpload(body, {
          format: request.format,
          maxBytes: deps.maxBytes,
          chunkRows: sizes.chunkRows,
          sink,
        });
      } catch (err) {
        if (!earlier) await dropChunks(tenantId, importId);
        throw err;
      }
      if (earlier) return replay(earlier, request, summary.sha256);
      try {
        const imp = await tenantTx(db, actor, async (tx) => {
          const jobId = await enqueueJob(tx, {
            kind: IMPORT_JOB,
            tenantId,
            payload: { import_id: importId },
            maxAttempts: 5,
          });
          return repo.insertImport(tx, {
            tenantId,
            id: importId,
            format: request.format,
            onDuplicate: request.onDuplicate,
            mode: request.mode,
            dryRun: request.dryRun,
            filename: request.filename,
            bytes: summary.bytes,
            sha256: summary.sha256,
            columns: summary.header,
            chunks: summary.chunks,
            rows: summary.rows,
            jobId,
            idempotencyKey: key,
            createdBy,
            createdByRoot: actor.principal.isRoot,
            sourceSystem: actor.sourceSystem,
            correlationId: actor.correlationId,
          });
        });
        jobs.nudge();
        return { accepted: accepted(imp), replayed: false };
      } catch (err) {
        await dropChunks(tenantId, importId);
        if (key && isPgError(err) && err.code === PgCode.uniqueViolation) {
          // The same key raced this upload and won: answer as its replay.
          const first = await tenantTx(db, actor, (tx) =>
            repo.findByIdempotencyKey(tx, tenantId, createdBy, key),
          );
          if (first) return replay(first, request, summary.sha256);
        }
        throw err;
      }
    },

    async get(actor: Actor, id: string): Promise<ImportView> {
      const imp = await load(actor, id);
      return toView(imp, progress.get(id));
    },

    /** Waits for nothing: the state as committed (plus live progress when this process runs it). */
    async list(actor: Actor, cursor: string | undefined, limit: number) {
      const tenantId = requireTenant(actor);
      const before = decodeIdCursor(cursor);
      const rows = await tenantTx(db, actor, (tx) => repo.listImports(tx, tenantId, before, limit + 1));
      const page = pageOf(rows, limit, (r) => [r.id]);
      return { data: page.data.map((r) => toView(r, progress.get(r.id))), next_cursor: page.next_cursor };
    },

    async errors(
      actor: Actor,
      id: string,
      cursor: string | undefined,
      limit: number,
    ): Promise<{ data: ImportRowError[]; next_cursor: string | null }> {
      const imp = await load(actor, id);
      const after = decodeCursor(cursor, 2) as [number, number] | null;
      if (after && !after.every((v) => Number.isInteger(v))) {
        throw new AppError('ERR_VAL_INVALID_FORMAT', 'cursor is not a cursor this server issued', {
          status: 400,
        });
      }
      const rows = await tenantTx(db, actor, (tx) =>
        repo.listErrors(tx, imp.tenant_id, id, after, limit + 1),
      );
      const page = pageOf(rows, limit, (r) => [r.row_no, r.seq]);
      return {
        data: page.data.map((r) => ({ row: r.row_no, field: r.field, code: r.code, message: r.message })),
        next_cursor: page.next_cursor,
      };
    },

    /** Every error as CSV, read page by page so memory stays flat. */
    async errorsCsv(actor: Actor, id: string): Promise<AsyncIterable<string>> {
      const imp = await load(actor, id);
      async function* lines() {
        yield 'row,field,code,message\n';
        let after: [number, number] | null = null;
        for (;;) {
          const rows = await tenantTx(db, actor, (tx) =>
            repo.listErrors(tx, imp.tenant_id, id, after, 5_000),
          );
          if (rows.length === 0) return;
          yield rows.map((r) => [r.row_no, r.field, r.code, r.message].map(csvCell).join(',')).join('\n') +
            '\n';
          const last = rows[rows.length - 1];
          after = [last.row_no, last.seq];
        }
      }
      return lines();
    },

    recover,

    /** Registers the job handler and the periodic sweep on the runner. */
    register(): void {
      jobs.register(IMPORT_JOB, job.run);
      jobs.addPeriodic('person-imports.sweep', SWEEP_INTERVAL_MS, () => recover());
    },
  };
}

export type ImportService = ReturnType<typeof createImportService>;
