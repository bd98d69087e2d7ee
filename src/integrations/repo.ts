import type { Actor } from '../auth/principal.js';
import type { Queryable } from '../db/database.js';
import { NIL_UUID } from '../lib/ids.js';
import type { Integration, IntegrationStatus, IntegrationVersion, PartnerType } from './schemas.js';

/** Marks a timestamp column to be set to the transaction's time. */
export const NOW = Symbol('now');
export type Value = string | number | boolean | null | readonly string[] | typeof NOW;

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export interface IntegrationRow {
  tenant_id: string;
  id: string;
  integration_name: string;
  partner_name: string;
  partner_type: PartnerType;
  vertical_ids: string[];
  active_from: Date;
  active_until: Date | null;
  data_contract_ref: string | null;
  template_id: string | null;
  status: IntegrationStatus;
  auth_client_id: string | null;
  requested_at: Date | null;
  requested_by: string | null;
  request_reason_code: string | null;
  request_reason_text: string | null;
  reviewed_at: Date | null;
  reviewed_by: string | null;
  review_notes: string | null;
  review_decision: 'reviewed' | 'returned' | null;
  approved_at: Date | null;
  approved_by: string | null;
  approval_reason_code: string | null;
  approval_reason_text: string | null;
  activated_at: Date | null;
  restricted_at: Date | null;
  suspended_at: Date | null;
  deprecated_at: Date | null;
  archived_at: Date | null;
  status_reason_code: string | null;
  status_reason_text: string | null;
  version_id: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

export function toIntegration(r: IntegrationRow): Integration {
  const { id, tenant_id, ...rest } = r;
  return {
    ...rest,
    integration_id: id,
    tenant_id,
    active_from: r.active_from.toISOString(),
    active_until: iso(r.active_until),
    requested_at: iso(r.requested_at),
    reviewed_at: iso(r.reviewed_at),
    approved_at: iso(r.approved_at),
    activated_at: iso(r.activated_at),
    restricted_at: iso(r.restricted_at),
    suspended_at: iso(r.suspended_at),
    deprecated_at: iso(r.deprecated_at),
    archived_at: iso(r.archived_at),
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
  };
}

export interface NewIntegration {
  tenantId: string;
  id: string;
  integrationName: string;
  partnerName: string;
  partnerType: PartnerType;
  verticalIds: readonly string[];
  activeFrom: string;
  activeUntil: string | null;
  dataContractRef: string | null;
  templateId: string | null;
  createdBy: string;
}

export async function insertIntegration(q: Queryable, i: NewIntegration): Promise<IntegrationRow> {
  const { rows } = await q.query<IntegrationRow>(
    `INSERT INTO integrations (tenant_id, id, integration_name, partner_name, partner_type, vertical_ids,
       active_from, active_until, data_contract_ref, template_id, created_by)
     VALUES ($1, $2, $3, $4, $5, $6::uuid[], $7, $8, $9, $10, $11)
     RETURNING *`,
    [
      i.tenantId,
      i.id,
      i.integrationName,
      i.partnerName,
      i.partnerType,
      i.verticalIds,
      i.activeFrom,
      i.activeUntil,
      i.dataContractRef,
      i.templateId,
      i.createdBy,
    ],
  );
  return rows[0];
}

/** One integration of the tenant; `forUpdate` locks it for the rest of the transaction. */
export async function findIntegration(
  q: Queryable,
  tenantId: string,
  id: string,
  forUpdate = false,
): Promise<IntegrationRow | null> {
  const { rows } = await q.query<IntegrationRow>(
    `SELECT * FROM integrations WHERE tenant_id = $1 AND id = $2${forUpdate ? ' FOR UPDATE' : ''}`,
    [tenantId, id],
  );
  return rows[0] ?? null;
}

export async function listIntegrations(
  q: Queryable,
  f: {
    tenantId: string;
    status?: string;
    partnerType?: string;
    verticalId?: string;
    afterId: string | null;
    limit: number;
  },
): Promise<IntegrationRow[]> {
  const { rows } = await q.query<IntegrationRow>(
    `SELECT * FROM integrations
      WHERE tenant_id = $1 AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR partner_type = $3)
        AND ($4::uuid IS NULL OR $4::uuid = ANY (vertical_ids)) AND id > $5
      ORDER BY id LIMIT $6`,
    [
      f.tenantId,
      f.status ?? null,
      f.partnerType ?? null,
      f.verticalId ?? null,
      f.afterId ?? NIL_UUID,
      f.limit + 1,
    ],
  );
  return rows;
}

/** Columns a change may set; the statement is built only from these names. */
const UPDATABLE = [
  'integration_name',
  'partner_name',
  'vertical_ids',
  'active_from',
  'active_until',
  'status',
  'auth_client_id',
  'requested_at',
  'requested_by',
  'request_reason_code',
  'request_reason_text',
  'reviewed_at',
  'reviewed_by',
  'review_notes',
  'review_decision',
  'approved_at',
  'approved_by',
  'approval_reason_code',
  'approval_reason_text',
  'activated_at',
  'restricted_at',
  'suspended_at',
  'deprecated_at',
  'archived_at',
  'status_reason_code',
  'status_reason_text',
] as const;
export type IntegrationColumn = (typeof UPDATABLE)[number];
export type IntegrationSet = Partial<Record<IntegrationColumn, Value>>;

/** Applies a change, bumps version_id and updated_at; returns the new row. */
export async function updateIntegration(
  q: Queryable,
  tenantId: string,
  id: string,
  set: IntegrationSet,
): Promise<IntegrationRow> {
  const params: unknown[] = [tenantId, id];
  const assignments: string[] = [];
  for (const column of UPDATABLE) {
    if (!(column in set)) continue;
    const value = set[column];
    if (value === NOW) {
      assignments.push(`${column} = now()`);
    } else {
      params.push(value);
      assignments.push(`${column} = $${params.length}${column === 'vertical_ids' ? '::uuid[]' : ''}`);
    }
  }
  const { rows } = await q.query<IntegrationRow>(
    `UPDATE integrations SET ${[...assignments, 'version_id = version_id + 1', 'updated_at = now()'].join(', ')}
      WHERE tenant_id = $1 AND id = $2 RETURNING *`,
    params,
  );
  return rows[0];
}

export interface VersionInput {
  versionId: number;
  change: string;
  fields: string[];
  oldValues?: Record<string, unknown> | null;
  newValues?: Record<string, unknown> | null;
  statusFrom?: string | null;
  statusTo?: string | null;
  reasonCode?: string | null;
  reasonText?: string | null;
}

/** Appends a version row to `table` (integration_versions or integration_contract_versions). */
export async function insertVersion(
  q: Queryable,
  table: 'integration_versions' | 'integration_contract_versions',
  actor: Actor,
  tenantId: string,
  resourceId: string,
  v: VersionInput,
): Promise<void> {
  const idColumn = table === 'integration_versions' ? 'integration_id' : 'contract_id';
  await q.query(
    `INSERT INTO ${table} (tenant_id, ${idColumn}, version_id, changed_by, source_system, change, fields,
       old_values, new_values, status_from, status_to, reason_code, reason_text)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
    [
      tenantId,
      resourceId,
      v.versionId,
      actor.principal.clientId,
      actor.sourceSystem,
      v.change,
      v.fields,
      v.oldValues ? JSON.stringify(v.oldValues) : null,
      v.newValues ? JSON.stringify(v.newValues) : null,
      v.statusFrom ?? null,
      v.statusTo ?? null,
      v.reasonCode ?? null,
      v.reasonText ?? null,
    ],
  );
}

interface VersionRow extends Omit<IntegrationVersion, 'changed_at'> {
  changed_at: Date;
}

export async function listVersions(
  q: Queryable,
  table: 'integration_versions' | 'integration_contract_versions',
  tenantId: string,
  resourceId: string,
): Promise<IntegrationVersion[]> {
  const idColumn = table === 'integration_versions' ? 'integration_id' : 'contract_id';
  const { rows } = await q.query<VersionRow>(
    `SELECT version_id, changed_at, changed_by, source_system, change, fields, old_values, new_values,
            status_from, status_to, reason_code, reason_text
       FROM ${table} WHERE tenant_id = $1 AND ${idColumn} = $2 ORDER BY version_id`,
    [tenantId, resourceId],
  );
  return rows.map((r) => ({ ...r, changed_at: r.changed_at.toISOString() }));
}

/** The tenant's vertical ids by code (template instantiation). */
export async function verticalIdsByCode(q: Queryable, tenantId: string): Promise<Map<string, string>> {
  const { rows } = await q.query<{ id: string; code: string }>(
    'SELECT id, code FROM verticals WHERE tenant_id = $1',
    [tenantId],
  );
  return new Map(rows.map((r) => [r.code, r.id]));
}
