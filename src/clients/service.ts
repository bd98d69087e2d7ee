import { auditOf, recordAudit } from '../audit/audit.js';
import type { ClientCache } from '../auth/client-cache.js';
import type { Actor } from '../auth/principal.js';
import { isRole, type Role, type Scope, scopesOfRoles } from '../auth/scopes.js';
import { hashSecret, newClientId, newSecret, verifySecret } from '../auth/secrets.js';
import { type Database, isPgError, PgCode, type Tx } from '../db/database.js';
import { tenantTx } from '../db/tx.js';
import { AppError, conflict, forbidden, notFound } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { uuidv7 } from '../lib/ids.js';
import { findTenant } from '../tenancy/repo.js';
import type { VerticalService } from '../tenancy/service.js';
import * as repo from './repo.js';
import type { Client, ClientCreate, ClientPatch, ClientWithSecret } from './schemas.js';

function rule(field: string, message: string): AppError {
  return new AppError('ERR_VAL_RULE_VIOLATION', `${field}: ${message}`, { errors: [{ field, message }] });
}

function assertManager(actor: Actor): void {
  if (!actor.principal.isRoot && !actor.principal.roles.includes('tenant_admin')) {
    throw forbidden('only ROOT and tenant admins manage API clients');
  }
}

/**
 * Checks the grant against the roles and against what the granting actor itself holds (API clients
 * and users alike).
 */
export function resolveGrant(
  actor: Actor,
  input: { roles: readonly string[]; scopes?: readonly string[] },
): { roles: Role[]; scopes: Scope[] } {
  const roles = input.roles.filter(isRole);
  if (roles.includes('root') && roles.length > 1)
    throw rule('roles', 'root cannot be combined with other roles');
  if (roles.includes('root') && !actor.principal.isRoot) throw forbidden('only ROOT grants the root role');
  const byRoles = scopesOfRoles(roles);
  const requested = (input.scopes as Scope[] | undefined) ?? [...byRoles];
  const outside = requested.filter((s) => !byRoles.has(s));
  if (outside.length > 0) throw rule('scopes', `not granted by the roles: ${outside.join(', ')}`);
  if (!actor.principal.isRoot) {
    const beyond = requested.filter((s) => !actor.principal.scopes.has(s));
    if (input.scopes === undefined) {
      // Defaults are trimmed to what the admin holds, never widened.
      return { roles, scopes: requested.filter((s) => actor.principal.scopes.has(s)) };
    }
    if (beyond.length > 0) throw forbidden(`cannot grant scopes you do not hold: ${beyond.join(', ')}`);
  }
  return { roles, scopes: requested };
}

export function assertWithin(
  actor: Actor,
  field: string,
  wanted: readonly string[],
  held: readonly string[],
): void {
  if (actor.principal.isRoot || held.length === 0) return;
  const beyond = wanted.filter((v) => !held.includes(v));
  if (wanted.length === 0 || beyond.length > 0) {
    throw forbidden(`cannot grant ${field} beyond your own (${held.join(', ')})`);
  }
}

export interface IssuedClient {
  client: Client;
  secret: string;
}

export function createClientService(db: Database, cache: ClientCache, verticals: VerticalService) {
  async function insert(
    tx: Tx,
    actor: Actor,
    input: ClientCreate & { integration_id?: string },
    clientId?: string,
  ) {
    const secret = newSecret();
    const { roles, scopes } = resolveGrant(actor, input);
    const isRootClient = roles.includes('root');
    const tenantId = isRootClient ? null : (input.tenant_id ?? actor.tenantId);
    if (isRootClient && input.tenant_id) throw rule('tenant_id', 'a ROOT client belongs to no tenant');
    if (!isRootClient && !tenantId) throw rule('tenant_id', 'is required for a non-ROOT client');
    if (!actor.principal.isRoot && tenantId !== actor.tenantId) throw notFound('tenant');
    if (tenantId && !(await findTenant(tx, tenantId))) throw notFound('tenant');
    const verticalIds = input.vertical_ids ?? [];
    const allowedPrograms = input.allowed_programs ?? [];
    if (tenantId) await verticals.assertExist(tx, tenantId, verticalIds);
    assertWithin(actor, 'vertical_ids', verticalIds, actor.principal.verticalIds);
    assertWithin(actor, 'allowed_programs', allowedPrograms, actor.principal.allowedPrograms);
    if (allowedPrograms.length > 0) {
      if (!tenantId) throw rule('allowed_programs', 'a ROOT client is not limited to programmes');
      const foreign = await repo.foreignPrograms(tx, tenantId, allowedPrograms);
      if (foreign.length > 0)
        throw rule('allowed_programs', `${foreign[0]} is not a programme of the tenant`);
    }
    const client = await repo.insertClient(tx, {
      id: uuidv7(),
      clientId: clientId ?? newClientId(),
      tenantId,
      name: input.name,
      secretHash: await hashSecret(secret),
      roles,
      scopes,
      verticalIds,
      allowedPrograms,
      rateLimitPerMinute: input.rate_limit_per_minute ?? null,
      active: input.active ?? true,
      consentBound: input.consent_bound ?? false,
      integrationId: input.integration_id ?? null,
      sourceSystem: input.source_system ?? null,
      createdBy: actor.principal.clientId,
    });
    await recordAudit(
      tx,
      actor,
      auditOf(
        { ...actor, tenantId },
        'client.create',
        { type: 'api_client', id: client.client_id },
        {
          details: { roles, scopes },
        },
      ),
    );
    return { client, secret };
  }

  async function change(
    actor: Actor,
    clientId: string,
    action: string,
    fn: (tx: Tx) => Promise<Client | null>,
  ): Promise<Client> {
    assertManager(actor);
    const updated = await tenantTx(db, actor, async (tx) => {
      const current = await repo.findClient(tx, clientId);
      if (!current || (!actor.principal.isRoot && current.tenant_id !== actor.tenantId))
        throw notFound('client');
      if (current.roles.includes('root') && !actor.principal.isRoot) throw notFound('client');
      const result = await fn(tx);
      await recordAudit(
        tx,
        actor,
        auditOf({ ...actor, tenantId: current.tenant_id }, action, { type: 'api_client', id: clientId }),
      );
      return result!;
    });
    await cache.invalidate(clientId);
    return updated;
  }

  return {
    async create(actor: Actor, input: ClientCreate): Promise<ClientWithSecret> {
      assertManager(actor);
      try {
        const { client, secret } = await tenantTx(db, actor, (tx) => insert(tx, actor, input));
        return { ...client, client_secret: secret };
      } catch (err) {
        if (isPgError(err) && err.code === PgCode.uniqueViolation) throw conflict('client id already exists');
        throw err;
      }
    },

    /** Creates a client inside a caller's transaction (integration activation). */
    createIn: (tx: Tx, actor: Actor, input: ClientCreate & { integration_id?: string }) =>
      insert(tx, actor, input),

    async list(actor: Actor, query: { limit: number; cursor?: string; tenant_id?: string }) {
      assertManager(actor);
      const tenantId = actor.principal.isRoot ? (query.tenant_id ?? actor.tenantId) : actor.tenantId;
      const rows = await tenantTx(db, actor, (tx) =>
        repo.listClients(tx, { tenantId, afterId: decodeIdCursor(query.cursor), limit: query.limit }),
      );
      const page = pageOf(rows, query.limit, (r) => [r.id]);
      return { data: page.data.map(({ id: _id, ...c }) => c), next_cursor: page.next_cursor };
    },

    async get(actor: Actor, clientId: string): Promise<Client> {
      assertManager(actor);
      const client = await tenantTx(db, actor, (tx) => repo.findClient(tx, clientId));
      if (!client || (!actor.principal.isRoot && client.tenant_id !== actor.tenantId))
        throw notFound('client');
      return client;
    },

    async rotateSecret(actor: Actor, clientId: string) {
      const secret = newSecret();
      const hash = await hashSecret(secret);
      const client = await change(actor, clientId, 'client.rotate_secret', (tx) =>
        repo.setSecret(tx, clientId, hash),
      );
      return { client_id: client.client_id, client_secret: secret, rotated_at: client.updated_at };
    },

    setActive(actor: Actor, clientId: string, active: boolean): Promise<Client> {
      return change(actor, clientId, active ? 'client.activate' : 'client.deactivate', (tx) =>
        repo.setActive(tx, clientId, active),
      );
    },

    /**
     * Changes a client (If-Match optional, honoured): a version row and an audit event in the
     * same transaction. A tenant admin never grants more than it holds: roles and scopes, verticals
     * and programmes are checked as at creation, and a consent-bound admin cannot unbind a client.
     */
    async patch(actor: Actor, clientId: string, input: ClientPatch, ifMatch?: number): Promise<Client> {
      assertManager(actor);
      const updated = await tenantTx(db, actor, async (tx) => {
        const current = await repo.findClient(tx, clientId);
        if (!current || (!actor.principal.isRoot && current.tenant_id !== actor.tenantId))
          throw notFound('client');
        if (current.roles.includes('root') && !actor.principal.isRoot) throw notFound('client');
        if (ifMatch !== undefined && ifMatch !== current.version_id) {
          throw new AppError('ERR_PRECONDITION_FAILED', `client is at version ${current.version_id}`, {
            extra: { current_version_id: current.version_id },
          });
        }
        const change: repo.ClientChange = {};
        if (input.roles !== undefined || input.scopes !== undefined) {
          const grant = resolveGrant(actor, {
            roles: input.roles ?? current.roles,
            scopes: input.scopes ?? (input.roles !== undefined ? undefined : current.scopes),
          });
          if (grant.roles.includes('root') !== current.roles.includes('root'))
            throw rule('roles', 'a client cannot become or stop being ROOT');
          change.roles = grant.roles;
          change.scopes = grant.scopes;
        }
        if (input.vertical_ids !== undefined) {
          if (current.tenant_id) await verticals.assertExist(tx, current.tenant_id, input.vertical_ids);
          assertWithin(actor, 'vertical_ids', input.vertical_ids, actor.principal.verticalIds);
          change.vertical_ids = input.vertical_ids;
        }
        if (input.allowed_programs !== undefined) {
          assertWithin(actor, 'allowed_programs', input.allowed_programs, actor.principal.allowedPrograms);
          change.allowed_programs = input.allowed_programs;
        }
        if (input.consent_bound !== undefined) {
          if (!input.consent_bound && actor.principal.consentBound && !actor.principal.isRoot)
            throw forbidden('a consent-bound admin cannot lift consent binding');
          change.consent_bound = input.consent_bound;
        }
        if (input.name !== undefined) change.name = input.name;
        if (input.rate_limit_per_minute !== undefined)
          change.rate_limit_per_minute = input.rate_limit_per_minute;
        if (input.active !== undefined) change.active = input.active;
        const now = current as unknown as Record<string, unknown>;
        for (const k of Object.keys(change) as (keyof repo.ClientChange)[]) {
          if (JSON.stringify(change[k]) === JSON.stringify(now[k])) delete change[k];
        }
        if (Object.keys(change).length === 0) return current;
        const old = Object.fromEntries(Object.keys(change).map((k) => [k, now[k]]));
        const client = await repo.updateClient(tx, clientId, change, old, actor.principal.clientId);
        await recordAudit(
          tx,
          actor,
          auditOf(
            { ...actor, tenantId: current.tenant_id },
            'client.update',
            { type: 'api_client', id: clientId },
            {
              details: { fields: Object.keys(change), version_id: client.version_id },
            },
          ),
        );
        return client;
      });
      await cache.invalidate(clientId);
      return updated;
    },

    /** Makes sure a ROOT client with these credentials exists (HEARTH_ROOT_CLIENT_ID/SECRET). */
    async ensureRootClient(clientId: string, secret: string): Promise<'created' | 'updated' | 'unchanged'> {
      const existing = await db.query<{ secret_hash: string; roles: string[] }>(
        'SELECT secret_hash, roles FROM api_clients WHERE client_id = $1',
        [clientId],
      );
      if (existing.rows.length === 0) {
        await db.query(
          `INSERT INTO api_clients (id, client_id, tenant_id, name, secret_hash, roles, scopes, created_by)
           VALUES ($1, $2, NULL, 'ROOT (bootstrap)', $3, '{root}', $4, 'bootstrap') ON CONFLICT (client_id) DO NOTHING`,
          [uuidv7(), clientId, await hashSecret(secret), [...scopesOfRoles(['root'])]],
        );
        return 'created';
      }
      const row = existing.rows[0];
      if (!row.roles.includes('root'))
        throw new Error(`HEARTH_ROOT_CLIENT_ID ${clientId} names a non-ROOT client`);
      if (await verifySecret(secret, row.secret_hash)) return 'unchanged';
      await repo.setSecret(db, clientId, await hashSecret(secret));
      await cache.invalidate(clientId);
      return 'updated';
    },

    /** True when no ROOT client exists yet (a fresh database). */
    async hasNoRootClient(): Promise<boolean> {
      const { rows } = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM api_clients WHERE 'root' = ANY(roles)`,
      );
      return rows[0].n === 0;
    },
  };
}

export type ClientService = ReturnType<typeof createClientService>;
