import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { emitEvent } from '../events/outbox.js';
import { AppError, conflict, forbidden, notFound, stateConflict } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { uuidv7 } from '../lib/ids.js';
import { rule } from '../registry/person-input.js';
import { recordVersion } from '../registry/versions.js';
import type { VerticalService } from '../tenancy/service.js';
import { checkReason } from '../vocabulary/reason-codes.js';
import * as repo from './program-repo.js';
import {
  PROGRAM_NOT_UPDATABLE,
  type ProgramArchive,
  type ProgramCreate,
  type ProgramIdentifier,
  type ProgramListQuery,
  type ProgramPatch,
  type ProgramView,
} from './schemas.js';

export interface ProgramServiceDeps {
  db: Database;
  verticals: VerticalService;
}

/** Identifier systems Hearth itself issues; a programme cannot claim them as its own identifiers. */
export const RESERVED_SYSTEM_PREFIX = 'urn:hearth:';

/** The programmes a caller may see: its allowed programmes and verticals (ROOT: every one). */
export function programScope(actor: Actor): repo.ProgramScope {
  const p = actor.principal;
  if (p.isRoot) return { allowedPrograms: [], verticalIds: [] };
  return { allowedPrograms: p.allowedPrograms, verticalIds: p.verticalIds };
}

export function programView(row: repo.ProgramRow): ProgramView {
  return {
    program_id: row.id,
    code: row.code,
    name: row.name,
    description: row.description,
    vertical_id: row.vertical_id,
    vertical_code: row.vertical_code,
    target_type: row.target_type,
    status: row.status,
    period: { start: row.period_start, end: row.period_end },
    eligibility_criteria: row.eligibility_criteria,
    identifiers: row.identifiers,
    archived: row.archived_at !== null,
    archived_at: row.archived_at?.toISOString() ?? null,
    version_id: row.version_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    created_by: row.created_by,
    updated_by: row.updated_by,
    source_system: row.source_system,
  };
}

function checkIdentifiers(identifiers: readonly ProgramIdentifier[] | undefined): void {
  const seen = new Set<string>();
  for (const [i, id] of (identifiers ?? []).entries()) {
    if (id.system.startsWith(RESERVED_SYSTEM_PREFIX)) {
      throw rule(`identifiers[${i}].system`, `systems under ${RESERVED_SYSTEM_PREFIX} are issued by Hearth`);
    }
    const key = `${id.system}|${id.value}`;
    if (seen.has(key)) throw rule(`identifiers[${i}]`, 'the same identifier is given twice');
    seen.add(key);
  }
}

function checkPeriod(start: string | null, end: string | null): void {
  if (start && end && end < start) throw rule('period.end', 'must not be before period.start');
}

/** A clash on a unique index of the programme tables: 409 naming the field, nothing written. */
function uniqueClash(err: unknown): never {
  if (isPgError(err) && err.code === PgCode.uniqueViolation) {
    if (err.constraint === 'programs_code') throw conflict('a programme with this code exists', 'code');
    if (err.constraint === 'program_identifiers_current') {
      throw conflict('an identifier is already held by another programme', 'identifiers');
    }
  }
  throw err;
}

export function createProgramService(deps: ProgramServiceDeps) {
  const { db, verticals } = deps;

  async function load(tx: Tx, actor: Actor, tenantId: string, id: string, lock = false) {
    const row = await repo.findProgram(tx, tenantId, id, programScope(actor), lock);
    if (!row) throw notFound('programme');
    return row;
  }

  async function viewIn(tx: Tx, actor: Actor, id: string): Promise<ProgramView> {
    return programView(await load(tx, actor, requireTenant(actor), id));
  }

  async function audited(
    tx: Tx,
    actor: Actor,
    tenantId: string,
    action: 'create' | 'update' | 'archive',
    id: string,
    version: {
      versionId: number;
      fields: string[];
      old?: Record<string, unknown>;
      new?: Record<string, unknown>;
    },
    reason?: { code?: string; text?: string },
  ): Promise<void> {
    await recordVersion(tx, actor, tenantId, {
      resourceType: 'program',
      resourceId: id,
      versionId: version.versionId,
      change: action,
      fields: version.fields,
      oldValues: version.old ?? null,
      newValues: version.new ?? null,
      reasonCode: reason?.code,
      reasonText: reason?.text,
    });
    await recordAudit(
      tx,
      actor,
      auditOf(
        actor,
        `program.${action}`,
        { type: 'program', id },
        { programId: id, details: { fields: version.fields } },
      ),
    );
    await emitEvent(tx, tenantId, {
      type:
        action === 'create'
          ? 'program.created'
          : action === 'archive'
            ? 'program.archived'
            : 'program.updated',
      resourceType: 'program',
      resourceId: id,
      changedFields: version.fields,
      data: { program_id: id },
    });
  }

  return {
    viewIn,

    /** The programme as a write would use it: visible to the caller, locked, not archived. */
    async loadForWrite(tx: Tx, actor: Actor, id: string): Promise<repo.ProgramRow> {
      const row = await load(tx, actor, requireTenant(actor), id, true);
      if (row.archived_at) throw stateConflict('programme', 'archived', 'change');
      return row;
    },

    async create(actor: Actor, input: ProgramCreate): Promise<ProgramView> {
      const tenantId = requireTenant(actor);
      const p = actor.principal;
      if (!p.isRoot && p.allowedPrograms.length > 0) {
        throw forbidden('a client limited to some programmes cannot create programmes');
      }
      if (!p.isRoot && p.verticalIds.length > 0 && !p.verticalIds.includes(input.vertical_id)) {
        throw forbidden('the programme’s vertical is outside the client’s verticals');
      }
      checkIdentifiers(input.identifiers);
      const start = input.period?.start ?? null;
      const end = input.period?.end ?? null;
      checkPeriod(start, end);
      return tenantTx(db, actor, async (tx) => {
        await verticals.assertExist(tx, tenantId, [input.vertical_id], 'vertical_id');
        const id = uuidv7();
        try {
          await repo.insertProgram(tx, {
            tenantId,
            id,
            code: input.code,
            name: input.name.trim(),
            description: input.description ?? null,
            verticalId: input.vertical_id,
            targetType: input.target_type,
            status: input.status ?? 'active',
            periodStart: start,
            periodEnd: end,
            eligibilityCriteria: input.eligibility_criteria ?? null,
            createdBy: p.clientId,
            sourceSystem: actor.sourceSystem,
          });
          await repo.replaceProgramIdentifiers(tx, tenantId, id, input.identifiers ?? []);
        } catch (err) {
          uniqueClash(err);
        }
        await audited(tx, actor, tenantId, 'create', id, { versionId: 1, fields: Object.keys(input) });
        return viewIn(tx, actor, id);
      });
    },

    async get(actor: Actor, id: string): Promise<ProgramView> {
      return tenantTx(db, actor, (tx) => viewIn(tx, actor, id));
    },

    async list(actor: Actor, query: ProgramListQuery & { limit: number }) {
      const tenantId = requireTenant(actor);
      const after = decodeIdCursor(query.cursor);
      return tenantTx(db, actor, async (tx) => {
        const rows = await repo.listPrograms(
          tx,
          tenantId,
          {
            status: query.status,
            targetType: query.target_type,
            verticalId: query.vertical_id,
            name: query.name,
            includeArchived: query.include_archived ?? false,
          },
          programScope(actor),
          after,
          query.limit + 1,
        );
        const page = pageOf(rows, query.limit, (r) => [r.id]);
        return { data: page.data.map(programView), next_cursor: page.next_cursor };
      });
    },

    /** An offset page with the exact total of programmes the caller may see (V2 face). */
    async page(actor: Actor, filter: repo.ProgramFilter, offset: number, count: number) {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const r = await repo.pagePrograms(tx, tenantId, filter, programScope(actor), offset, count);
        return { data: r.rows.map(programView), total: r.total };
      });
    },

    /**
     * The one programme holding an identifier (its id, its code or a stored identifier) among
     * those the caller may see: 404 when none, 409 when several (never a silent pick).
     */
    async resolve(
      actor: Actor,
      match: { id?: string; code?: string; system?: string; value?: string },
    ): Promise<ProgramView> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const rows = await repo.findProgramsByIdentifier(tx, tenantId, match, programScope(actor));
        if (rows.length === 0) throw notFound('programme');
        if (rows.length > 1) throw conflict('the identifier names more than one programme');
        return programView(rows[0]);
      });
    },

    async patch(actor: Actor, id: string, input: ProgramPatch, ifMatch?: number): Promise<ProgramView> {
      const tenantId = requireTenant(actor);
      for (const f of PROGRAM_NOT_UPDATABLE) if (f in input) throw rule(f, 'is not updatable');
      checkIdentifiers(input.identifiers);
      return tenantTx(db, actor, async (tx) => {
        const row = await load(tx, actor, tenantId, id, true);
        if (row.archived_at) throw stateConflict('programme', 'archived', 'update');
        if (ifMatch !== undefined && ifMatch !== row.version_id) {
          throw new AppError('ERR_PRECONDITION_FAILED', `version_id is ${row.version_id}, not ${ifMatch}`, {
            extra: { current_version_id: row.version_id },
          });
        }
        if (input.status === 'active' && row.status === 'ended') {
          throw stateConflict('programme', 'ended', 'reopen');
        }
        const current: Record<string, unknown> = {
          name: row.name,
          description: row.description,
          status: row.status,
          period_start: row.period_start,
          period_end: row.period_end,
          eligibility_criteria: row.eligibility_criteria,
        };
        const next: Record<string, unknown> = { ...current };
        if (input.name !== undefined) next.name = input.name.trim();
        if (input.description !== undefined) next.description = input.description;
        if (input.status !== undefined) next.status = input.status;
        if (input.eligibility_criteria !== undefined) next.eligibility_criteria = input.eligibility_criteria;
        if (input.period?.start !== undefined) next.period_start = input.period.start;
        if (input.period?.end !== undefined) next.period_end = input.period.end;
        checkPeriod(next.period_start as string | null, next.period_end as string | null);
        const columns: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(next)) if (v !== current[k]) columns[k] = v;
        const identifiersChanged =
          input.identifiers !== undefined &&
          JSON.stringify([...input.identifiers].sort(byKey)) !==
            JSON.stringify([...row.identifiers].sort(byKey));
        const fields = [...Object.keys(columns), ...(identifiersChanged ? ['identifiers'] : [])];
        if (fields.length === 0) return programView(row);
        const meta = { updatedBy: actor.principal.clientId, lastUpdateSystem: actor.sourceSystem };
        try {
          if (identifiersChanged) await repo.replaceProgramIdentifiers(tx, tenantId, id, input.identifiers!);
        } catch (err) {
          uniqueClash(err);
        }
        const versionId = await repo.updateProgramColumns(tx, tenantId, id, columns, meta);
        const old = Object.fromEntries(Object.keys(columns).map((k) => [k, current[k]]));
        if (identifiersChanged) {
          old.identifiers = row.identifiers;
          columns.identifiers = input.identifiers;
        }
        await audited(tx, actor, tenantId, 'update', id, { versionId, fields, old, new: columns });
        return viewIn(tx, actor, id);
      });
    },

    async archive(actor: Actor, id: string, body: ProgramArchive): Promise<ProgramView> {
      const tenantId = requireTenant(actor);
      checkReason(body.reason_code, body.reason_text);
      return tenantTx(db, actor, async (tx) => {
        const row = await load(tx, actor, tenantId, id, true);
        if (row.archived_at) throw stateConflict('programme', 'archived', 'archive');
        const versionId = await repo.updateProgramColumns(
          tx,
          tenantId,
          id,
          {
            archived_at: new Date().toISOString(),
            status_reason_code: body.reason_code,
            status_reason_text: body.reason_text ?? null,
          },
          { updatedBy: actor.principal.clientId, lastUpdateSystem: actor.sourceSystem },
        );
        await audited(
          tx,
          actor,
          tenantId,
          'archive',
          id,
          { versionId, fields: ['archived'], old: { archived: false }, new: { archived: true } },
          { code: body.reason_code, text: body.reason_text },
        );
        return viewIn(tx, actor, id);
      });
    },
  };
}

const byKey = (a: ProgramIdentifier, b: ProgramIdentifier) =>
  `${a.system}|${a.value}`.localeCompare(`${b.system}|${b.value}`);

export type ProgramService = ReturnType<typeof createProgramService>;
