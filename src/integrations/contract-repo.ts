import type { Queryable } from '../db/database.js';
import { NIL_UUID } from '../lib/ids.js';
import { inWindow } from './lifecycle.js';
import { NOW, type Value } from './repo.js';
import type { ConsentRequirements, Contract, ContractStatus } from './schemas.js';

export interface ContractRow {
  tenant_id: string;
  id: string;
  integration_id: string;
  purpose: string;
  data_categories: string[];
  field_list: string[];
  consent_requirements: ConsentRequirements;
  active_from: Date;
  active_until: Date | null;
  status: ContractStatus;
  activated_at: Date | null;
  activated_by: string | null;
  archived_at: Date | null;
  archived_by: string | null;
  reason_code: string | null;
  reason_text: string | null;
  template_id: string | null;
  version_id: number;
  created_by: string | null;
  created_at: Date;
  updated_at: Date;
}

const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/**
 * A contract is in force only while active and `now` lies inside [active_from, active_until).
 * Every push and pull must name a contract in force.
 */
export function contractInForce(
  contract: { status: string; active_from: Date | string; active_until: Date | string | null },
  now: Date = new Date(),
): boolean {
  return contract.status === 'active' && inWindow(contract.active_from, contract.active_until, now);
}

export function toContract(r: ContractRow, now: Date = new Date()): Contract {
  const { id, ...rest } = r;
  return {
    ...rest,
    contract_id: id,
    consent_requirements: { vertical_ids: r.consent_requirements?.vertical_ids ?? [] },
    active_from: r.active_from.toISOString(),
    active_until: iso(r.active_until),
    activated_at: iso(r.activated_at),
    archived_at: iso(r.archived_at),
    created_at: r.created_at.toISOString(),
    updated_at: r.updated_at.toISOString(),
    in_force: contractInForce(r, now),
  };
}

export interface NewContract {
  tenantId: string;
  id: string;
  integrationId: string;
  purpose: string;
  dataCategories: readonly string[];
  fieldList: readonly string[];
  consentVerticalIds: readonly string[];
  activeFrom: string | typeof NOW;
  activeUntil: string | null;
  templateId: string | null;
  createdBy: string;
}

export async function insertContract(q: Queryable, c: NewContract): Promise<ContractRow> {
  const { rows } = await q.query<ContractRow>(
    `INSERT INTO integration_contracts (tenant_id, id, integration_id, purpose, data_categories, field_list,
       consent_requirements, active_from, active_until, template_id, created_by)
     VALUES ($1, $2, $3, $4, $5::text[], $6::text[], $7::jsonb, COALESCE($8::timestamptz, now()), $9, $10, $11)
     RETURNING *`,
    [
      c.tenantId,
      c.id,
      c.integrationId,
      c.purpose,
      c.dataCategories,
      c.fieldList,
      JSON.stringify({ vertical_ids: c.consentVerticalIds }),
      c.activeFrom === NOW ? null : c.activeFrom,
      c.activeUntil,
      c.templateId,
      c.createdBy,
    ],
  );
  return rows[0];
}

/** A contract of one integration of the tenant; `forUpdate` locks it. */
export async function findContract(
  q: Queryable,
  tenantId: string,
  integrationId: string,
  contractId: string,
  forUpdate = false,
): Promise<ContractRow | null> {
  const { rows } = await q.query<ContractRow>(
    `SELECT * FROM integration_contracts WHERE tenant_id = $1 AND integration_id = $2 AND id = $3
     ${forUpdate ? 'FOR UPDATE' : ''}`,
    [tenantId, integrationId, contractId],
  );
  return rows[0] ?? null;
}

export async function listContracts(
  q: Queryable,
  f: { tenantId: string; integrationId: string; status?: string; afterId: string | null; limit: number },
): Promise<ContractRow[]> {
  const { rows } = await q.query<ContractRow>(
    `SELECT * FROM integration_contracts
      WHERE tenant_id = $1 AND integration_id = $2 AND ($3::text IS NULL OR status = $3) AND id > $4
      ORDER BY id LIMIT $5`,
    [f.tenantId, f.integrationId, f.status ?? null, f.afterId ?? NIL_UUID, f.limit + 1],
  );
  return rows;
}

/** Contracts of an integration that are not archived (locked: the caller is about to change them). */
export async function openContracts(
  q: Queryable,
  tenantId: string,
  integrationId: string,
): Promise<ContractRow[]> {
  const { rows } = await q.query<ContractRow>(
    `SELECT * FROM integration_contracts WHERE tenant_id = $1 AND integration_id = $2 AND status <> 'archived'
      ORDER BY id FOR UPDATE`,
    [tenantId, integrationId],
  );
  return rows;
}

const UPDATABLE = [
  'purpose',
  'data_categories',
  'field_list',
  'consent_requirements',
  'active_until',
  'status',
  'activated_at',
  'activated_by',
  'archived_at',
  'archived_by',
  'reason_code',
  'reason_text',
] as const;
export type ContractColumn = (typeof UPDATABLE)[number];
export type ContractSet = Partial<Record<ContractColumn, Value>>;

const CASTS: Partial<Record<ContractColumn, string>> = {
  data_categories: '::text[]',
  field_list: '::text[]',
  consent_requirements: '::jsonb',
};

/** Applies a change, bumps version_id and updated_at; returns the new row. */
export async function updateContract(
  q: Queryable,
  tenantId: string,
  id: string,
  set: ContractSet,
): Promise<ContractRow> {
  const params: unknown[] = [tenantId, id];
  const assignments: string[] = [];
  for (const column of UPDATABLE) {
    if (!(column in set)) continue;
    const value = set[column];
    if (value === NOW) {
      assignments.push(`${column} = now()`);
    } else {
      params.push(value);
      assignments.push(`${column} = $${params.length}${CASTS[column] ?? ''}`);
    }
  }
  const { rows } = await q.query<ContractRow>(
    `UPDATE integration_contracts
        SET ${[...assignments, 'version_id = version_id + 1', 'updated_at = now()'].join(', ')}
      WHERE tenant_id = $1 AND id = $2 RETURNING *`,
    params,
  );
  return rows[0];
}
