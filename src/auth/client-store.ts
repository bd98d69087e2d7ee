import type { Queryable } from '../db/database.js';
import type { Role, Scope } from './scopes.js';

/** An API client as the auth layer needs it on every request. */
export interface ClientRecord {
  id: string;
  clientId: string;
  tenantId: string | null;
  tenantActive: boolean;
  name: string;
  secretHash: string;
  roles: Role[];
  scopes: Scope[];
  verticalIds: string[];
  allowedPrograms: string[];
  rateLimitPerMinute: number | null;
  active: boolean;
  consentBound: boolean;
  integrationId: string | null;
  /** Status of the client's integration, when it has one (suspended/archived refuse every call). */
  integrationStatus: string | null;
  sourceSystem: string | null;
  tokenGeneration: number;
}

interface ClientRow {
  id: string;
  client_id: string;
  tenant_id: string | null;
  tenant_status: string | null;
  name: string;
  secret_hash: string;
  roles: Role[];
  scopes: Scope[];
  vertical_ids: string[];
  allowed_programs: string[];
  rate_limit_per_minute: number | null;
  active: boolean;
  consent_bound: boolean;
  integration_id: string | null;
  integration_status: string | null;
  source_system: string | null;
  token_generation: number;
}

function toRecord(r: ClientRow): ClientRecord {
  return {
    id: r.id,
    clientId: r.client_id,
    tenantId: r.tenant_id,
    tenantActive: r.tenant_id === null || r.tenant_status === 'active',
    name: r.name,
    secretHash: r.secret_hash,
    roles: r.roles,
    scopes: r.scopes,
    verticalIds: r.vertical_ids,
    allowedPrograms: r.allowed_programs,
    rateLimitPerMinute: r.rate_limit_per_minute,
    active: r.active,
    consentBound: r.consent_bound,
    integrationId: r.integration_id,
    integrationStatus: r.integration_status,
    sourceSystem: r.source_system,
    tokenGeneration: r.token_generation,
  };
}

/** Reads a client across tenants: authentication happens before any tenant is known. */
export async function loadClientRecord(db: Queryable, clientId: string): Promise<ClientRecord | null> {
  const { rows } = await db.query<ClientRow>(
    `SELECT c.id, c.client_id, c.tenant_id, t.status AS tenant_status, c.name, c.secret_hash, c.roles,
            c.scopes, c.vertical_ids, c.allowed_programs, c.rate_limit_per_minute, c.active,
            c.consent_bound, c.integration_id, c.source_system, c.token_generation,
            i.status AS integration_status
       FROM api_clients c LEFT JOIN tenants t ON t.id = c.tenant_id
       LEFT JOIN integrations i ON i.tenant_id = c.tenant_id AND i.id = c.integration_id
      WHERE c.client_id = $1`,
    [clientId],
  );
  return rows.length ? toRecord(rows[0]) : null;
}
