import { appendAudit, auditOf } from '../audit/audit.js';
import { assertClientUsable, currentScopes, principalOf } from '../auth/authenticator.js';
import type { ClientCache } from '../auth/client-cache.js';
import type { Actor } from '../auth/principal.js';
import type { Database, Tx } from '../db/database.js';
import { emitEvent } from '../events/outbox.js';
import { AppError, notFound } from '../http/errors.js';
import { PermanentJobError } from '../jobs/runner.js';
import { isUuid, uuidv7 } from '../lib/ids.js';
import * as crepo from './contract-repo.js';
import * as xrepo from './exchange-repo.js';
import type { ExchangeFormat } from './exchange-schemas.js';
import { assertIntegrationCanExchange, type ExchangeDirection } from './lifecycle.js';
import * as repo from './repo.js';

export interface Admitted {
  integration: repo.IntegrationRow;
  contract: crepo.ContractRow;
}

/** A queued exchange reloaded by its job, with the integration and contract it runs under. */
export interface Reloaded extends Admitted {
  exchange: xrepo.ExchangeRow;
}

/**
 * Reloads a queued exchange for its job and checks the rules again (the integration or contract
 * may have changed since it was accepted): `null` when there is nothing left to do (finished, or
 * not this kind of exchange), else the exchange with either what it runs under or the refusal.
 */
export async function reloadExchange(
  tx: Tx,
  tenantId: string,
  integrationId: string,
  exchangeId: string,
  direction: ExchangeDirection,
): Promise<{ exchange: xrepo.ExchangeRow; admitted: Admitted | null; refusal: AppError | null } | null> {
  const exchange = await xrepo.findExchange(tx, tenantId, integrationId, exchangeId, true);
  if (!exchange || exchange.status === 'completed' || exchange.status === 'failed') return null;
  const integration = await repo.findIntegration(tx, tenantId, integrationId);
  const contract = exchange.contract_id
    ? await crepo.findContract(tx, tenantId, integrationId, exchange.contract_id)
    : null;
  try {
    if (!integration || !contract) throw new AppError('ERR_NOT_FOUND', 'integration or contract not found');
    assertIntegrationCanExchange(integration, direction);
    assertContractInForce(contract);
    return { exchange, admitted: { integration, contract }, refusal: null };
  } catch (err) {
    const refusal = err instanceof AppError ? err : new AppError('ERR_SYS_INTERNAL', String(err));
    return { exchange, admitted: null, refusal };
  }
}

/** Only the integration's own API client exchanges its data (not staff, not ROOT, not another integration). */
export function assertOwnClient(actor: Actor, integrationId: string): void {
  if (actor.principal.integrationId !== integrationId) {
    throw new AppError(
      'ERR_SEC_FORBIDDEN',
      'only the integration’s own API client may exchange data through this integration',
      { extra: { reason: 'not_integration_client' } },
    );
  }
}

export async function loadIntegration(tx: Tx, tenantId: string, integrationId: string) {
  const integration = await repo.findIntegration(tx, tenantId, integrationId);
  if (!integration) throw notFound('integration');
  return integration;
}

/**
 * The contract rules every push and pull passes, in order: the integration exists in the caller's
 * tenant (404 like a missing one otherwise); the caller is its own client (403); the
 * integration may exchange in this direction now (409 naming its status: active both ways,
 * restricted pulls only); the named contract is one of its contracts (403) and in force (409
 * naming its status); a push needs a contract that covers person data (403).
 */
export async function admit(
  tx: Tx,
  actor: Actor,
  tenantId: string,
  integrationId: string,
  direction: ExchangeDirection,
  contractId: string,
  now: Date = new Date(),
): Promise<Admitted> {
  const integration = await loadIntegration(tx, tenantId, integrationId);
  assertOwnClient(actor, integrationId);
  assertIntegrationCanExchange(integration, direction, now);
  const contract = await crepo.findContract(tx, tenantId, integrationId, contractId);
  if (!contract) {
    throw new AppError('ERR_SEC_FORBIDDEN', `contract ${contractId} is not a contract of this integration`, {
      extra: { reason: 'contract_not_of_integration' },
    });
  }
  assertContractInForce(contract, now);
  if (direction === 'push' && !contract.data_categories.includes('person')) {
    throw new AppError(
      'ERR_SEC_FORBIDDEN',
      'the contract does not cover person data: nothing may be pushed',
      {
        extra: { reason: 'contract_scope' },
      },
    );
  }
  return { integration, contract };
}

export function assertContractInForce(contract: crepo.ContractRow, now: Date = new Date()): void {
  if (crepo.contractInForce(contract, now)) return;
  const why = contract.status === 'active' ? 'is outside its active window' : `is ${contract.status}`;
  throw new AppError('ERR_STATE_CONFLICT', `contract ${contract.id} is not in force: it ${why}`, {
    extra: { current_status: contract.status, reason: 'contract_not_in_force' },
  });
}

export interface Refusal {
  tenantId: string;
  integrationId: string;
  direction: ExchangeDirection;
  clientId: string | null;
  correlationId: string | null;
  contractId?: string | null;
  format?: ExchangeFormat | null;
  idempotencyKey?: string | null;
  filters?: Record<string, unknown>;
  error: AppError;
}

const FORMATS: readonly string[] = ['json', 'csv', 'xml'];

/**
 * Leaves the exchange-log row of a refused push or pull (status failed, refused) and its audit
 * event, in a transaction of its own: the refused request's transaction has rolled back. Nothing
 * is logged for an integration the tenant does not have. Returns the exchange id, if logged.
 */
export async function logRefusal(db: Database, r: Refusal): Promise<string | null> {
  return db.transaction(
    async (tx) => {
      if (!(await repo.findIntegration(tx, r.tenantId, r.integrationId))) return null;
      const named = r.contractId && isUuid(r.contractId) ? r.contractId : null;
      const contract = named ? await crepo.findContract(tx, r.tenantId, r.integrationId, named) : null;
      const id = uuidv7();
      await xrepo.insertExchange(tx, {
        tenantId: r.tenantId,
        id,
        integrationId: r.integrationId,
        contractId: contract?.id ?? null,
        requestedContractId: r.contractId ?? null,
        direction: r.direction,
        status: 'failed',
        format: r.format && FORMATS.includes(r.format) ? r.format : null,
        refused: true,
        idempotencyKey: r.idempotencyKey && r.idempotencyKey.length <= 255 ? r.idempotencyKey : null,
        clientId: r.clientId,
        correlationId: r.correlationId,
        dataCategories: contract?.data_categories ?? [],
        filters: r.filters ?? {},
        errorCode: r.error.code,
        errorDetail: r.error.message,
        started: true,
        completed: true,
      });
      await appendAudit(tx, {
        tenantId: r.tenantId,
        actorId: r.clientId,
        action: `exchange.${r.direction}.refused`,
        resourceType: 'integration_exchange',
        resourceId: id,
        outcome:
          r.error.status === 401 || r.error.status === 403 || r.error.status === 429 ? 'denied' : 'failure',
        status: r.error.status,
        correlationId: r.correlationId,
        details: { integration_id: r.integrationId, code: r.error.code },
      });
      return id;
    },
    { tenantId: r.tenantId },
  );
}

/** Audit event of an exchange step, written in the caller's transaction. */
export function exchangeAudit(
  actor: Actor,
  action: string,
  exchangeId: string,
  details: Record<string, unknown>,
) {
  return auditOf(actor, action, { type: 'integration_exchange', id: exchangeId }, { details });
}

/** exchange.completed in the outbox and the exchange's audit event, in the completing transaction. */
export async function completed(
  tx: Tx,
  actor: Actor,
  tenantId: string,
  row: xrepo.ExchangeRow,
): Promise<void> {
  await emitEvent(tx, tenantId, {
    type: 'exchange.completed',
    resourceType: 'integration_exchange',
    resourceId: row.id,
    data: {
      integration_id: row.integration_id,
      contract_id: row.contract_id,
      direction: row.direction,
      format: row.format,
      records_returned: row.records_returned,
      records_created: row.records_created,
      records_updated: row.records_updated,
      records_rejected: row.records_rejected,
    },
  });
  await appendAudit(
    tx,
    exchangeAudit({ ...actor, tenantId }, `exchange.${row.direction}.completed`, row.id, {
      integration_id: row.integration_id,
      contract_id: row.contract_id,
      format: row.format,
      records_returned: row.records_returned,
      records_created: row.records_created,
      records_updated: row.records_updated,
      records_rejected: row.records_rejected,
    }),
  );
}

/**
 * The integration's client as it would be on a request, acting in its tenant: what a background
 * exchange (a push's records, a file pull) runs as. A client no longer usable is a permanent
 * failure of the job.
 */
export async function integrationActor(
  clientCache: ClientCache,
  integration: repo.IntegrationRow,
  exchange: xrepo.ExchangeRow,
): Promise<Actor> {
  const clientId = integration.auth_client_id;
  const client = clientId ? await clientCache.get(clientId) : null;
  try {
    assertClientUsable(client);
  } catch {
    throw new PermanentJobError('the integration’s API client is no longer usable');
  }
  return {
    principal: principalOf(client, currentScopes(client)),
    tenantId: exchange.tenant_id,
    correlationId: exchange.correlation_id ?? `exchange:${exchange.id}`,
    ip: null,
    sourceSystem: `integration:${integration.id}`,
    audit: { recorded: false },
  };
}
