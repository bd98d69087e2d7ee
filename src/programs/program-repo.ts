import type { Queryable } from '../db/database.js';
import { uuidv7 } from '../lib/ids.js';
import type { ProgramIdentifier, ProgramStatus, TargetType } from './schemas.js';

export interface ProgramRow {
  tenant_id: string;
  id: string;
  code: string;
  name: string;
  description: string | null;
  vertical_id: string;
  vertical_code: string;
  target_type: TargetType;
  status: ProgramStatus;
  period_start: string | null;
  period_end: string | null;
  eligibility_criteria: string | null;
  archived_at: Date | null;
  version_id: number;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
  source_system: string | null;
  updated_by: string | null;
  last_update_system: string | null;
  identifiers: ProgramIdentifier[];
}

const SELECT = `
  SELECT g.tenant_id, g.id, g.code, g.name, g.description, g.vertical_id, v.code AS vertical_code, g.target_type,
         g.status, g.period_start, g.period_end, g.eligibility_criteria, g.archived_at, g.version_id, g.created_at,
         g.updated_at, g.created_by, g.source_system, g.updated_by, g.last_update_system,
         COALESCE((SELECT json_agg(json_build_object('system', i.system, 'value', i.value) ORDER BY i.system, i.value)
                     FROM program_identifiers i
                    WHERE i.tenant_id = g.tenant_id AND i.program_id = g.id AND i.removed_at IS NULL), '[]'::json)
           AS identifiers
    FROM programs g JOIN verticals v ON v.tenant_id = g.tenant_id AND v.id = g.vertical_id`;

/**
 * Which programmes a caller may see at all: its allowed programmes and verticals (empty lists
 * mean no limit). Appended to every programme query, so a limited client never reads past it.
 */
export interface ProgramScope {
  allowedPrograms: readonly string[];
  verticalIds: readonly string[];
}

function scopeSql(params: unknown[], scope: ProgramScope, alias = 'g'): string {
  params.push(scope.allowedPrograms.length > 0 ? scope.allowedPrograms : null);
  const a = `$${params.length}`;
  params.push(scope.verticalIds.length > 0 ? scope.verticalIds : null);
  const v = `$${params.length}`;
  return `(${a}::uuid[] IS NULL OR ${alias}.id = ANY(${a}::uuid[])) AND (${v}::uuid[] IS NULL OR ${alias}.vertical_id = ANY(${v}::uuid[]))`;
}

export async function findProgram(
  q: Queryable,
  tenantId: string,
  id: string,
  scope: ProgramScope,
  lock = false,
): Promise<ProgramRow | null> {
  const params: unknown[] = [tenantId, id];
  const { rows } = await q.query<ProgramRow>(
    `${SELECT} WHERE g.tenant_id = $1 AND g.id = $2 AND ${scopeSql(params, scope)}${lock ? ' FOR UPDATE OF g' : ''}`,
    params,
  );
  return rows[0] ?? null;
}

/** Programmes holding an identifier: their own id, their code, or a stored identifier. */
export async function findProgramsByIdentifier(
  q: Queryable,
  tenantId: string,
  match: { id?: string; code?: string; system?: string; value?: string },
  scope: ProgramScope,
): Promise<ProgramRow[]> {
  const params: unknown[] = [
    tenantId,
    match.id ?? null,
    match.code ?? null,
    match.system ?? null,
    match.value ?? null,
  ];
  const { rows } = await q.query<ProgramRow>(
    `${SELECT} WHERE g.tenant_id = $1 AND ${scopeSql(params, scope)}
       AND (g.id = $2::uuid OR lower(g.code) = lower($3::text)
         OR EXISTS (SELECT 1 FROM program_identifiers i WHERE i.tenant_id = g.tenant_id AND i.program_id = g.id
                     AND i.removed_at IS NULL AND i.system = $4::text AND i.value = $5::text))
     ORDER BY g.id LIMIT 2`,
    params,
  );
  return rows;
}

export interface ProgramFilter {
  status?: ProgramStatus;
  targetType?: TargetType;
  verticalId?: string;
  name?: string;
  includeArchived: boolean;
}

function filterSql(params: unknown[], tenantId: string, f: ProgramFilter, scope: ProgramScope): string {
  params.push(tenantId);
  const where = [`g.tenant_id = $${params.length}`, scopeSql(params, scope)];
  const add = (v: unknown) => {
    params.push(v);
    return `$${params.length}`;
  };
  if (f.status) where.push(`g.status = ${add(f.status)}`);
  if (f.targetType) where.push(`g.target_type = ${add(f.targetType)}`);
  if (f.verticalId) where.push(`g.vertical_id = ${add(f.verticalId)}::uuid`);
  if (f.name) {
    where.push(
      `lower(g.name) LIKE ${add(`%${f.name.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`)} ESCAPE '\\'`,
    );
  }
  if (!f.includeArchived) where.push('g.archived_at IS NULL');
  return where.join(' AND ');
}

/** Keyset page in id order (native API). */
export async function listPrograms(
  q: Queryable,
  tenantId: string,
  f: ProgramFilter,
  scope: ProgramScope,
  after: string | null,
  limit: number,
): Promise<ProgramRow[]> {
  const params: unknown[] = [];
  const where = filterSql(params, tenantId, f, scope);
  params.push(after, limit);
  const { rows } = await q.query<ProgramRow>(
    `${SELECT} WHERE ${where} AND ($${params.length - 1}::uuid IS NULL OR g.id > $${params.length - 1}::uuid)
     ORDER BY g.id LIMIT $${params.length}`,
    params,
  );
  return rows;
}

/** Offset page with the total of matching programmes (OpenSPP API V2 paging). */
export async function pagePrograms(
  q: Queryable,
  tenantId: string,
  f: ProgramFilter,
  scope: ProgramScope,
  offset: number,
  count: number,
): Promise<{ rows: ProgramRow[]; total: number }> {
  const params: unknown[] = [];
  const where = filterSql(params, tenantId, f, scope);
  const total = await q.query<{ n: number }>(
    `SELECT count(*)::int AS n FROM programs g WHERE ${where}`,
    params,
  );
  params.push(offset, count);
  const { rows } = await q.query<ProgramRow>(
    `${SELECT} WHERE ${where} ORDER BY g.id OFFSET $${params.length - 1} LIMIT $${params.length}`,
    params,
  );
  return { rows, total: total.rows[0].n };
}

export interface NewProgram {
  tenantId: string;
  id: string;
  code: string;
  name: string;
  description: string | null;
  verticalId: string;
  targetType: TargetType;
  status: ProgramStatus;
  periodStart: string | null;
  periodEnd: string | null;
  eligibilityCriteria: string | null;
  createdBy: string;
  sourceSystem: string | null;
}

export async function insertProgram(q: Queryable, p: NewProgram): Promise<void> {
  await q.query(
    `INSERT INTO programs (tenant_id, id, code, name, description, vertical_id, target_type, status, period_start,
       period_end, eligibility_criteria, created_by, source_system)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      p.tenantId,
      p.id,
      p.code,
      p.name,
      p.description,
      p.verticalId,
      p.targetType,
      p.status,
      p.periodStart,
      p.periodEnd,
      p.eligibilityCriteria,
      p.createdBy,
      p.sourceSystem,
    ],
  );
}

export async function replaceProgramIdentifiers(
  q: Queryable,
  tenantId: string,
  programId: string,
  identifiers: readonly ProgramIdentifier[],
): Promise<void> {
  await q.query(
    'UPDATE program_identifiers SET removed_at = now() WHERE tenant_id = $1 AND program_id = $2 AND removed_at IS NULL',
    [tenantId, programId],
  );
  if (identifiers.length === 0) return;
  await q.query(
    `INSERT INTO program_identifiers (tenant_id, id, program_id, system, value)
     SELECT $1, x.id, $2, x.s, x.v FROM unnest($3::uuid[], $4::text[], $5::text[]) AS x(id, s, v)`,
    [
      tenantId,
      programId,
      identifiers.map(() => uuidv7()),
      identifiers.map((i) => i.system),
      identifiers.map((i) => i.value),
    ],
  );
}

const UPDATABLE = new Set([
  'name',
  'description',
  'status',
  'period_start',
  'period_end',
  'eligibility_criteria',
  'archived_at',
  'status_reason_code',
  'status_reason_text',
]);

/** Column updates by name (only names of this list ever reach the SQL). Bumps version_id. */
export async function updateProgramColumns(
  q: Queryable,
  tenantId: string,
  id: string,
  columns: Record<string, unknown>,
  meta: { updatedBy: string; lastUpdateSystem: string | null },
): Promise<number> {
  const names = Object.keys(columns);
  for (const n of names) if (!UPDATABLE.has(n)) throw new Error(`not an updatable programme column: ${n}`);
  const sets = names.map((n, i) => `${n} = $${i + 5}`);
  const { rows } = await q.query<{ version_id: number }>(
    `UPDATE programs SET ${[...sets, 'version_id = version_id + 1', 'updated_at = now()', 'updated_by = $3', 'last_update_system = $4'].join(', ')}
      WHERE tenant_id = $1 AND id = $2 RETURNING version_id`,
    [tenantId, id, meta.updatedBy, meta.lastUpdateSystem, ...names.map((n) => columns[n])],
  );
  return rows[0].version_id;
}
