import type { Queryable } from '../db/database.js';
import { NIL_UUID } from '../lib/ids.js';
import type { Client } from './schemas.js';

const COLUMNS = `client_id, name, tenant_id, roles, scopes, vertical_ids, allowed_programs,
  rate_limit_per_minute, active, consent_bound, integration_id, source_system, version_id, created_at, updated_at`;

/** Columns a PATCH may change (the values are already checked by the service). */
export type ClientChange = Partial<
  Pick<
    Client,
    | 'name'
    | 'roles'
    | 'scopes'
    | 'vertical_ids'
    | 'allowed_programs'
    | 'rate_limit_per_minute'
    | 'active'
    | 'consent_bound'
  >
>;

const ARRAY_CAST: Record<string, string> = {
  roles: '::text[]',
  scopes: '::text[]',
  vertical_ids: '::uuid[]',
  allowed_programs: '::uuid[]',
};

/**
 * Applies a change, bumps the version and writes its version row. Deactivation also bumps the
 * token generation, so live tokens stop at once (as POST …/deactivate does).
 */
export async function updateClient(
  q: Queryable,
  clientId: string,
  change: ClientChange,
  old: Record<string, unknown>,
  changedBy: string,
): Promise<Client> {
  const fields = Object.keys(change) as (keyof ClientChange)[];
  const params: unknown[] = [clientId];
  const sets = fields.map((f) => {
    params.push(change[f]);
    return `${f} = $${params.length}${ARRAY_CAST[f] ?? ''}`;
  });
  const revoke = change.active === false ? ', token_generation = token_generation + 1' : '';
  const { rows } = await q.query<Client & { id: string }>(
    `UPDATE api_clients SET ${sets.join(', ')}, version_id = version_id + 1, updated_at = now()${revoke}
      WHERE client_id = $1 RETURNING id, ${COLUMNS}`,
    params,
  );
  const { id, ...client } = rows[0];
  await q.query(
    `INSERT INTO api_client_versions (client_uuid, version_id, tenant_id, changed_by, fields, old_values, new_values)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [
      id,
      client.version_id,
      client.tenant_id,
      changedBy,
      fields,
      JSON.stringify(old),
      JSON.stringify(Object.fromEntries(fields.map((f) => [f, change[f]]))),
    ],
  );
  return client;
}

export interface NewClient {
  id: string;
  clientId: string;
  tenantId: string | null;
  name: string;
  secretHash: string;
  roles: string[];
  scopes: string[];
  verticalIds: string[];
  allowedPrograms: string[];
  rateLimitPerMinute: number | null;
  active: boolean;
  consentBound: boolean;
  integrationId: string | null;
  sourceSystem: string | null;
  createdBy: string;
}

export async function insertClient(q: Queryable, c: NewClient): Promise<Client> {
  const { rows } = await q.query<Client>(
    `INSERT INTO api_clients (id, client_id, tenant_id, name, secret_hash, roles, scopes, vertical_ids,
       allowed_programs, rate_limit_per_minute, active, consent_bound, integration_id, source_system, created_by)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
     RETURNING ${COLUMNS}`,
    [
      c.id,
      c.clientId,
      c.tenantId,
      c.name,
      c.secretHash,
      c.roles,
      c.scopes,
      c.verticalIds,
      c.allowedPrograms,
      c.rateLimitPerMinute,
      c.active,
      c.consentBound,
      c.integrationId,
      c.sourceSystem,
      c.createdBy,
    ],
  );
  return rows[0];
}

export async function findClient(q: Queryable, clientId: string): Promise<Client | null> {
  const { rows } = await q.query<Client>(`SELECT ${COLUMNS} FROM api_clients WHERE client_id = $1`, [
    clientId,
  ]);
  return rows[0] ?? null;
}

export async function listClients(
  q: Queryable,
  filter: { tenantId: string | null; afterId: string | null; limit: number },
): Promise<(Client & { id: string })[]> {
  const { rows } = await q.query<Client & { id: string }>(
    `SELECT id, ${COLUMNS} FROM api_clients
      WHERE ($1::uuid IS NULL OR tenant_id = $1) AND id > $2
      ORDER BY id LIMIT $3`,
    [filter.tenantId, filter.afterId ?? NIL_UUID, filter.limit + 1],
  );
  return rows;
}

export async function setSecret(q: Queryable, clientId: string, secretHash: string): Promise<Client | null> {
  const { rows } = await q.query<Client>(
    `UPDATE api_clients SET secret_hash = $2, token_generation = token_generation + 1, updated_at = now()
      WHERE client_id = $1 RETURNING ${COLUMNS}`,
    [clientId, secretHash],
  );
  return rows[0] ?? null;
}

export async function setRateLimit(q: Queryable, clientId: string, perMinute: number): Promise<void> {
  await q.query(
    'UPDATE api_clients SET rate_limit_per_minute = $2, updated_at = now() WHERE client_id = $1',
    [clientId, perMinute],
  );
}

export async function setActive(q: Queryable, clientId: string, active: boolean): Promise<Client | null> {
  const { rows } = await q.query<Client>(
    `UPDATE api_clients SET active = $2, updated_at = now(),
            token_generation = token_generation + CASE WHEN $2 THEN 0 ELSE 1 END
      WHERE client_id = $1 RETURNING ${COLUMNS}`,
    [clientId, active],
  );
  return rows[0] ?? null;
}

/** Which of `ids` are not programmes of the tenant (another tenant's or none at all). */
export async function foreignPrograms(q: Queryable, tenantId: string, ids: string[]): Promise<string[]> {
  const { rows } = await q.query<{ id: string }>(
    `SELECT x.id FROM unnest($2::uuid[]) AS x(id)
      WHERE NOT EXISTS (SELECT 1 FROM programs p WHERE p.tenant_id = $1 AND p.id = x.id)`,
    [tenantId, ids],
  );
  return rows.map((r) => r.id);
}
