import type { Queryable } from '../db/database.js';
import { NIL_UUID } from '../lib/ids.js';
import type { Tenant, TenantSettings, Vertical } from './schemas.js';

const TENANT_COLUMNS = 'id AS tenant_id, name, code::text AS code, status, settings, created_at, updated_at';

export async function insertTenant(
  q: Queryable,
  t: { id: string; name: string; code: string; settings: TenantSettings },
): Promise<Tenant> {
  const { rows } = await q.query<Tenant>(
    `INSERT INTO tenants (id, name, code, settings) VALUES ($1, $2, $3, $4) RETURNING ${TENANT_COLUMNS}`,
    [t.id, t.name, t.code, JSON.stringify(t.settings)],
  );
  await q.query('INSERT INTO audit_heads (tenant_key) VALUES ($1)', [t.id]);
  return rows[0];
}

export async function findTenant(q: Queryable, id: string): Promise<Tenant | null> {
  const { rows } = await q.query<Tenant>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE id = $1`, [id]);
  return rows[0] ?? null;
}

export async function findTenantByCode(q: Queryable, code: string): Promise<Tenant | null> {
  const { rows } = await q.query<Tenant>(`SELECT ${TENANT_COLUMNS} FROM tenants WHERE code = $1`, [code]);
  return rows[0] ?? null;
}

/** Oldest first; ids are UUIDv7, so ordering by id is ordering by creation. */
export async function listTenants(q: Queryable, afterId: string | null, limit: number): Promise<Tenant[]> {
  const { rows } = await q.query<Tenant>(
    `SELECT ${TENANT_COLUMNS} FROM tenants WHERE id > $1 ORDER BY id LIMIT $2`,
    [afterId ?? NIL_UUID, limit + 1],
  );
  return rows;
}

export async function updateTenant(
  q: Queryable,
  id: string,
  patch: { name?: string; status?: string; settings?: TenantSettings },
): Promise<Tenant | null> {
  const { rows } = await q.query<Tenant>(
    `UPDATE tenants SET name = COALESCE($2, name), status = COALESCE($3, status),
            settings = COALESCE($4::jsonb, settings), updated_at = now()
      WHERE id = $1 RETURNING ${TENANT_COLUMNS}`,
    [id, patch.name ?? null, patch.status ?? null, patch.settings ? JSON.stringify(patch.settings) : null],
  );
  return rows[0] ?? null;
}

const VERTICAL_COLUMNS = 'id AS vertical_id, code, name, is_system, created_at';

export async function insertVertical(
  q: Queryable,
  v: { tenantId: string; id: string; code: string; name: string; isSystem: boolean },
): Promise<Vertical> {
  const { rows } = await q.query<Vertical>(
    `INSERT INTO verticals (tenant_id, id, code, name, is_system) VALUES ($1, $2, $3, $4, $5)
     RETURNING ${VERTICAL_COLUMNS}`,
    [v.tenantId, v.id, v.code, v.name, v.isSystem],
  );
  return rows[0];
}

export async function listVerticals(q: Queryable, tenantId: string): Promise<Vertical[]> {
  const { rows } = await q.query<Vertical>(
    `SELECT ${VERTICAL_COLUMNS} FROM verticals WHERE tenant_id = $1 ORDER BY is_system DESC, code`,
    [tenantId],
  );
  return rows;
}

/** The subset of `ids` that are verticals of the tenant. */
export async function existingVerticalIds(
  q: Queryable,
  tenantId: string,
  ids: readonly string[],
): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  const { rows } = await q.query<{ id: string }>(
    'SELECT id FROM verticals WHERE tenant_id = $1 AND id = ANY($2::uuid[])',
    [tenantId, ids],
  );
  return new Set(rows.map((r) => r.id));
}
