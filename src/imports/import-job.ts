import type { FastifyBaseLogger } from 'fastify';
import { appendAudit, auditOf } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Queryable, type Tx } from '../db/database.js';
import type { Job } from '../jobs/queue.js';
import { PermanentJobError } from '../jobs/runner.js';
import type { InputDeps } from '../registry/person-input.js';
import type { TenantSettingsCache } from '../tenancy/settings.js';
import { type ApplyMeta, applyRange, rangeBounds } from './apply.js';
import { actionCounts, recheckPending, runChecks } from './checks.js';
import type { ProgressBoard } from './progress.js';
import * as repo from './repo.js';
import { TERMINAL } from './schemas.js';
import { stageErrors, stageRows } from './staging.js';
import {
  MemoQueryable,
  type RowContext,
  type RowError,
  type StagedRow,
  validateRow,
} from './validate-row.js';

export const IMPORT_JOB = 'person.import';
export const IMPORT_LOCK_SECONDS = 120;

export interface ImportJobDeps {
  db: Database;
  input: InputDeps;
  settings: TenantSettingsCache;
  progress: ProgressBoard;
  /** applyRows: rows per apply transaction (best effort) or statement group (all or nothing). */
  sizes: { readonly applyRows: number };
  log: FastifyBaseLogger | null;
}

/** The requester as the job acts for it: provenance, versions and the run's audit event. */
export function importActor(imp: repo.ImportRow): Actor {
  return {
    principal: {
      clientId: imp.created_by,
      tenantId: imp.tenant_id,
      roles: [],
      scopes: new Set(),
      verticalIds: [],
      allowedPrograms: [],
      integrationId: null,
      consentBound: false,
      sourceSystem: imp.source_system,
      rateLimitPerMinute: null,
      isRoot: imp.created_by_root,
    },
    tenantId: imp.tenant_id,
    correlationId: imp.correlation_id ?? imp.id,
    ip: null,
    sourceSystem: imp.source_system,
    audit: { recorded: false },
  };
}

const isIdentityClash = (err: unknown) =>
  isPgError(err) && err.code === PgCode.uniqueViolation && err.constraint === 'person_identities_unique';

/**
 * The import job: validate the staged chunks (checkpoint per chunk), run the set-wise checks,
 * then apply: all or nothing in one transaction, or best effort in committed ranges. Every step
 * records where it got to in the same transaction as its work, so a run taken over after a crash
 * continues from there; a run whose job fails for good is closed as failed, never left open.
 */
export function createImportJob(deps: ImportJobDeps) {
  const { db, progress } = deps;
  const inTenant = <T>(tenantId: string, fn: (tx: Tx) => Promise<T>) => db.transaction(fn, { tenantId });

  /**
   * Validates chunk after chunk; each chunk's rows, errors and checkpoint commit together. The
   * next chunk is read and validated while the previous one is written (on PostgreSQL that
   * write runs on another connection, so the two cores both work).
   */
  async function validateChunks(imp: repo.ImportRow, heartbeat: () => Promise<void>): Promise<void> {
    const tenantId = imp.tenant_id;
    const reader: Queryable = { query: (text, params) => inTenant(tenantId, (tx) => tx.query(text, params)) };
    const memo = new MemoQueryable().bind(reader);
    const s = await inTenant(tenantId, (tx) => deps.settings.get(tx, tenantId));
    const ctx: RowContext = {
      tenantId,
      deps: deps.input,
      q: memo,
      defaultPhoneCountry: s.defaultPhoneCountry,
      onDuplicate: imp.on_duplicate,
      header: imp.columns,
      resolveGeoCode: (code) => repo.findGeoIdByCode(memo, tenantId, code),
    };
    const prepare = async (seq: number) => {
      const raw = await inTenant(tenantId, (tx) => repo.readChunk(tx, tenantId, imp.id, seq));
      if (!raw) throw new PermanentJobError(`part ${seq + 1} of the upload is missing`);
      const staged: StagedRow[] = [];
      const errors: RowError[] = [];
      for (let i = 0; i < raw.length; i++) {
        // Validation is CPU work on this thread: let the previous chunk's COPY make progress.
        if (i % 100 === 99) await new Promise<void>((resolve) => setImmediate(resolve));
        const r = await validateRow(ctx, raw[i]);
        if (Array.isArray(r)) errors.push(...r);
        else staged.push(r);
      }
      return { count: raw.length, staged, errors };
    };
    let { rows_validated: validated, rows_rejected: rejected, rows_valid: valid } = imp;
    let next = imp.validated_chunks < imp.chunk_count ? prepare(imp.validated_chunks) : null;
    for (let seq = imp.validated_chunks; seq < imp.chunk_count; seq++) {
      const chunk = await next!;
      next = seq + 1 < imp.chunk_count ? prepare(seq + 1) : null;
      next?.catch(() => {}); // a failure surfaces when that chunk is awaited
      // A system transaction: staging COPYs straight into the staging tables (see staging.ts);
      // every statement of it names the run's tenant explicitly.
      await db.transaction(async (tx) => {
        await tx.exec('SET LOCAL synchronous_commit = off');
        await stageRows(tx, tenantId, imp.id, chunk.staged);
        await stageErrors(tx, tenantId, imp.id, chunk.errors);
        await repo.updateImport(tx, tenantId, imp.id, {
          validated_chunks: seq + 1,
          rows_validated: validated + chunk.count,
          rows_valid: valid + chunk.staged.length,
          rows_rejected: rejected + chunk.count - chunk.staged.length,
        });
      });
      validated += chunk.count;
      valid += chunk.staged.length;
      rejected += chunk.count - chunk.staged.length;
      progress.set(imp.id, { phase: 'validating', done: validated, total: imp.rows_read });
      await heartbeat();
    }
  }

  async function check(imp: repo.ImportRow): Promise<repo.ImportRow> {
    progress.set(imp.id, { phase: 'checking', done: imp.rows_read, total: imp.rows_read });
    // Fresh statistics, or the planner takes the just-filled staging tables for empty ones
    // (nested loops over thousands of rows). PGlite has no autovacuum at all. Owner-only: no tenant role.
    await db.exec('ANALYZE person_import_rows, person_import_identities, person_identities');
    return inTenant(imp.tenant_id, async (tx) => {
      await runChecks(tx, imp.tenant_id, imp.id, imp.on_duplicate);
      const counts = await actionCounts(tx, imp.tenant_id, imp.id);
      await repo.updateImport(tx, imp.tenant_id, imp.id, {
        checked: true,
        rows_valid: counts.create + counts.update + counts.skip,
        rows_skipped: counts.skip,
        rows_to_apply: counts.create + counts.update,
        rows_rejected: await repo.rejectedRowCount(tx, imp.tenant_id, imp.id),
      });
      return (await repo.findImport(tx, imp.tenant_id, imp.id))!;
    });
  }

  /** Closes the run in the caller's transaction: final counts, status, one audit event. */
  async function closeIn(
    q: Queryable,
    imp: repo.ImportRow,
    status: 'completed' | 'failed' | 'rolled_back',
    error: string | null,
    applied?: { created: number; updated: number; unchanged: number; through: number },
  ): Promise<void> {
    const counts = await actionCounts(q, imp.tenant_id, imp.id);
    const rejected = await repo.rejectedRowCount(q, imp.tenant_id, imp.id);
    const appliedCreated = applied ? applied.created : imp.rows_created;
    const appliedUpdated = applied ? applied.updated : imp.rows_updated;
    const appliedRows = applied ? applied.created + applied.updated + applied.unchanged : imp.rows_applied;
    // What the run did: all or nothing keeps nothing unless it completed; a dry run says what it would do.
    const kept = status === 'completed' || imp.mode === 'best_effort';
    let created = 0;
    let updated = 0;
    let skipped = 0;
    if (imp.dry_run) {
      created = counts.create;
      updated = counts.update;
      skipped = counts.skip;
    } else if (kept) {
      created = appliedCreated;
      updated = appliedUpdated;
      skipped = (imp.checked ? counts.skip : 0) + Math.max(0, appliedRows - appliedCreated - appliedUpdated);
    }
    const final = {
      status,
      error,
      finished_at: new Date().toISOString(),
      rows_created: created,
      rows_updated: updated,
      rows_skipped: skipped,
      rows_rejected: rejected,
      rows_valid: imp.checked ? counts.create + counts.update + counts.skip : imp.rows_valid,
      ...(applied ? { applied_through: applied.through, rows_applied: appliedRows } : {}),
    };
    await repo.updateImport(q, imp.tenant_id, imp.id, final);
    const actor = importActor(imp);
    await appendAudit(
      q,
      auditOf(
        actor,
        'person.import',
        { type: 'person_import', id: imp.id },
        {
          outcome: status === 'completed' ? 'success' : 'failure',
          details: {
            status,
            mode: imp.mode,
            on_duplicate: imp.on_duplicate,
            dry_run: imp.dry_run,
            sha256: imp.sha256,
            rows_read: imp.rows_read,
            created,
            updated,
            skipped,
            rejected,
            ...(error ? { error } : {}),
          },
        },
      ),
    );
  }

  async function close(
    imp: repo.ImportRow,
    status: 'completed' | 'failed' | 'rolled_back',
    error: string | null,
  ) {
    await inTenant(imp.tenant_id, async (tx) => {
      const current = (await repo.findImport(tx, imp.tenant_id, imp.id, true))!;
      if ((TERMINAL as readonly string[]).includes(current.status)) return;
      await closeIn(tx, current, status, error);
    });
    await purge(imp);
  }

  async function purge(imp: repo.ImportRow): Promise<void> {
    await inTenant(imp.tenant_id, async (tx) => {
      await repo.purgeStaging(tx, imp.tenant_id, imp.id);
      await repo.updateImport(tx, imp.tenant_id, imp.id, { staging_purged: true });
    });
  }

  const metaOf = (imp: repo.ImportRow): ApplyMeta => ({
    tenantId: imp.tenant_id,
    importId: imp.id,
    createdBy: imp.created_by,
    sourceSystem: imp.source_system,
    today: new Date().toISOString().slice(0, 10),
  });

  /** All or nothing: every range in one transaction that also closes the run. */
  async function applyAtomically(imp: repo.ImportRow, heartbeat: () => Promise<void>): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        const outcome = await inTenant(imp.tenant_id, async (tx) => {
          if (attempt > 0) {
            await recheckPending(tx, imp.tenant_id, imp.id, 0, null, imp.on_duplicate);
            if ((await repo.rejectedRowCount(tx, imp.tenant_id, imp.id)) > 0) {
              await closeIn(tx, imp, 'rolled_back', null);
              return 'rolled_back';
            }
          }
          const bounds = await rangeBounds(tx, imp.tenant_id, imp.id, 0, deps.sizes.applyRows);
          const totals = { created: 0, updated: 0, unchanged: 0, through: 0 };
          let lo = 0;
          for (const hi of bounds) {
            const r = await applyRange(tx, metaOf(imp), lo, hi);
            totals.created += r.created;
            totals.updated += r.updated;
            totals.unchanged += r.unchanged;
            totals.through = hi;
            lo = hi + 1;
            progress.set(imp.id, {
              phase: 'applying',
              done: totals.created + totals.updated + totals.unchanged,
              total: imp.rows_to_apply,
            });
            // PostgreSQL: the claim is renewed on another connection; PGlite has one process.
            if (db.kind === 'postgres') await heartbeat();
          }
          await closeIn(tx, imp, 'completed', null, totals);
          return 'completed';
        });
        deps.log?.info({ import_id: imp.id, outcome }, 'person import applied');
        return;
      } catch (err) {
        if (isIdentityClash(err) && attempt === 0) continue;
        throw err;
      }
    }
  }

  /** Best effort: committed ranges, each advancing the checkpoint with its counts. */
  async function applyInRanges(imp: repo.ImportRow, heartbeat: () => Promise<void>): Promise<void> {
    const bounds = await inTenant(imp.tenant_id, (tx) =>
      rangeBounds(tx, imp.tenant_id, imp.id, imp.applied_through, deps.sizes.applyRows),
    );
    let { rows_created: created, rows_updated: updated, rows_skipped: skipped, rows_applied: done } = imp;
    let lo = imp.applied_through + 1;
    for (const hi of bounds) {
      for (let attempt = 0; ; attempt++) {
        try {
          await inTenant(imp.tenant_id, async (tx) => {
            await tx.exec('SET LOCAL synchronous_commit = off');
            if (attempt > 0) await recheckPending(tx, imp.tenant_id, imp.id, lo - 1, hi, imp.on_duplicate);
            const r = await applyRange(tx, metaOf(imp), lo, hi);
            await repo.updateImport(tx, imp.tenant_id, imp.id, {
              applied_through: hi,
              rows_created: created + r.created,
              rows_updated: updated + r.updated,
              rows_skipped: skipped + r.unchanged,
              rows_applied: done + r.created + r.updated + r.unchanged,
            });
            created += r.created;
            updated += r.updated;
            skipped += r.unchanged;
            done += r.created + r.updated + r.unchanged;
          });
          break;
        } catch (err) {
          if (isIdentityClash(err) && attempt === 0) continue;
          throw err;
        }
      }
      lo = hi + 1;
      progress.set(imp.id, { phase: 'applying', done, total: imp.rows_to_apply });
      await heartbeat();
    }
    const current = (await inTenant(imp.tenant_id, (tx) => repo.findImport(tx, imp.tenant_id, imp.id)))!;
    await inTenant(imp.tenant_id, (tx) => closeIn(tx, current, 'completed', null));
  }

  async function run(job: Job): Promise<void> {
    const tenantId = job.tenant_id;
    const importId = typeof job.payload.import_id === 'string' ? job.payload.import_id : null;
    if (!tenantId || !importId) throw new PermanentJobError('an import job needs a tenant and an import_id');
    const heartbeat = () => repo.extendJobLock(db, job.id, IMPORT_LOCK_SECONDS);
    const load = () => inTenant(tenantId, (tx) => repo.findImport(tx, tenantId, importId));
    let imp = await load();
    if (!imp) throw new PermanentJobError(`import ${importId} not found`);
    if ((TERMINAL as readonly string[]).includes(imp.status)) {
      if (!imp.staging_purged) await purge(imp);
      return;
    }
    try {
      if (imp.status === 'queued') {
        await inTenant(tenantId, (tx) =>
          repo.updateImport(tx, tenantId, importId, {
            status: 'validating',
            started_at: new Date().toISOString(),
          }),
        );
        imp = (await load())!;
      }
      if (!imp.checked) {
        await validateChunks(imp, heartbeat);
        imp = await check((await load())!);
      }
      if (imp.mode === 'all_or_nothing' && imp.rows_rejected > 0)
        return await close(imp, 'rolled_back', null);
      if (imp.dry_run) return await close(imp, 'completed', null);
      if (imp.status !== 'running') {
        await inTenant(tenantId, (tx) => repo.updateImport(tx, tenantId, importId, { status: 'running' }));
        imp = (await load())!;
      }
      if (imp.mode === 'all_or_nothing') await applyAtomically(imp, heartbeat);
      else await applyInRanges(imp, heartbeat);
      await purge(imp);
    } catch (err) {
      const final = err instanceof PermanentJobError || job.attempts >= job.max_attempts;
      if (final) {
        const message = err instanceof Error ? err.message : String(err);
        await close(imp, 'failed', message).catch((e) =>
          deps.log?.error({ err: e }, 'closing a failed import'),
        );
      }
      throw err;
    } finally {
      progress.clear(importId);
    }
  }

  return { run, close, purge };
}

export type ImportJob = ReturnType<typeof createImportJob>;
