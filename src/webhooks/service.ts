import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { WebhookConfig } from '../config.js';
import type { Database, Tx } from '../db/database.js';
import { requireTenant, tenantTx } from '../db/tx.js';
import { AppError, notFound, stateConflict } from '../http/errors.js';
import { decodeIdCursor, pageOf } from '../http/pagination.js';
import { findContract } from '../integrations/contract-repo.js';
import { checkWindow } from '../integrations/contract-rules.js';
import { RESOURCE as INTEGRATION } from '../integrations/lifecycle.js';
import { findIntegration, type IntegrationRow } from '../integrations/repo.js';
import { uuidv7 } from '../lib/ids.js';
import { checkReason } from '../vocabulary/reason-codes.js';
import * as drepo from './delivery-repo.js';
import * as repo from './repo.js';
import type {
  Delivery,
  DeliveryListQuery,
  KeyRotated,
  Webhook,
  WebhookCreate,
  WebhookListQuery,
  WebhookPatch,
  WebhookReasonBody,
} from './schemas.js';
import { generateSigningKey, type PublicJwk } from './signing.js';
import { checkTarget, TargetRefused } from './target-url.js';

const WEBHOOK = 'webhook';

/** Integration statuses whose webhooks receive deliveries (docs/decisions/0044-webhook-lifecycle.md). */
export const RECEIVING_STATUSES: readonly string[] = ['active', 'restricted'];

export interface WebhookServiceDeps {
  db: Database;
  config: WebhookConfig;
}

function refuseTarget(err: unknown): never {
  if (err instanceof TargetRefused) {
    throw new AppError('ERR_VAL_RULE_VIOLATION', `target_url ${err.message}`, {
      errors: [{ field: 'target_url', message: err.message }],
    });
  }
  throw err;
}

/**
 * Webhook subscriptions of an integration: create, change, rotate the signing key, disable, and
 * the delivery log with redelivery. Every change writes its audit event in its transaction.
 */
export function createWebhookService(deps: WebhookServiceDeps) {
  const { db, config } = deps;
  const overlapSeconds = config.keyOverlapHours * 3600;

  async function integrationOf(tx: Tx, tenantId: string, id: string, lock = false): Promise<IntegrationRow> {
    const row = await findIntegration(tx, tenantId, id, lock);
    if (!row) throw notFound('integration');
    return row;
  }

  async function webhookOf(tx: Tx, tenantId: string, integrationId: string, id: string, lock = false) {
    const row = await repo.findWebhook(tx, tenantId, integrationId, id, lock);
    if (!row) throw notFound('webhook');
    return row;
  }

  async function checkContract(tx: Tx, tenantId: string, integrationId: string, contractId: string) {
    const contract = await findContract(tx, tenantId, integrationId, contractId);
    if (!contract) {
      throw new AppError('ERR_VAL_RULE_VIOLATION', 'contract_id: not a contract of this integration', {
        errors: [{ field: 'contract_id', message: 'is not a contract of this integration' }],
      });
    }
    if (contract.status === 'archived')
      throw stateConflict('data contract', 'archived', 'attach a webhook to');
  }

  async function audit(tx: Tx, actor: Actor, action: string, w: repo.WebhookRow, details: object = {}) {
    await recordAudit(
      tx,
      actor,
      auditOf(
        actor,
        `webhook.${action}`,
        { type: WEBHOOK, id: w.id },
        {
          details: { integration_id: w.integration_id, ...details },
        },
      ),
    );
  }

  const hostOf = (url: string) => new URL(url).host;

  /** Rotates inside `tx`: the old key co-signs for the overlap (none after a security incident). */
  async function rotateIn(tx: Tx, actor: Actor, current: repo.WebhookRow, reasonCode: string) {
    const key = generateSigningKey(config.keySecret);
    const overlap = reasonCode === 'SECURITY_INCIDENT' ? 0 : overlapSeconds;
    const retired = await repo.retireKeys(tx, current.tenant_id, current.id, overlap);
    await repo.insertKey(tx, {
      tenantId: current.tenant_id,
      webhookId: current.id,
      publicKeyId: key.publicKeyId,
      publicJwk: key.publicJwk,
      storedPrivateKey: key.storedPrivateKey,
    });
    if (overlap === 0) await repo.expireRetiredKeys(tx, current.tenant_id, current.id);
    const updated = await repo.updateWebhook(tx, current.tenant_id, current.id, {
      public_key_id: key.publicKeyId,
      rotated: true,
    });
    const expires = retired.find((r) => r.public_key_id === current.public_key_id)?.expires_at ?? new Date();
    await audit(tx, actor, 'rotate_secret', updated, {
      previous_public_key_id: current.public_key_id,
      public_key_id: key.publicKeyId,
      reason_code: reasonCode,
      previous_key_expires_at: expires.toISOString(),
    });
    return { updated, previous: current.public_key_id, expires };
  }

  return {
    rotateIn,

    async list(actor: Actor, integrationId: string, query: WebhookListQuery & { limit: number }) {
      const tenantId = requireTenant(actor);
      const rows = await tenantTx(db, actor, async (tx) => {
        await integrationOf(tx, tenantId, integrationId);
        return repo.listWebhooks(tx, {
          tenantId,
          integrationId,
          status: query.status,
          afterId: decodeIdCursor(query.cursor),
          limit: query.limit,
        });
      });
      const page = pageOf(rows, query.limit, (r) => [r.id]);
      return { data: page.data.map(repo.toWebhook), next_cursor: page.next_cursor };
    },

    async get(actor: Actor, integrationId: string, id: string): Promise<Webhook> {
      const tenantId = requireTenant(actor);
      return repo.toWebhook(await tenantTx(db, actor, (tx) => webhookOf(tx, tenantId, integrationId, id)));
    },

    /** Only an active integration takes new webhooks; the target is checked before anything is written. */
    async create(actor: Actor, integrationId: string, input: WebhookCreate): Promise<Webhook> {
      const tenantId = requireTenant(actor);
      checkWindow(input.active_from, input.active_until);
      await checkTarget(input.target_url, config.allowInsecureTargets).catch(refuseTarget);
      const key = generateSigningKey(config.keySecret);
      const row = await tenantTx(db, actor, async (tx) => {
        const integration = await integrationOf(tx, tenantId, integrationId, true);
        if (integration.status !== 'active') {
          throw stateConflict(INTEGRATION, integration.status, 'add a webhook to');
        }
        if (input.contract_id) await checkContract(tx, tenantId, integrationId, input.contract_id);
        const created = await repo.insertWebhook(tx, {
          tenantId,
          id: uuidv7(),
          integrationId,
          contractId: input.contract_id ?? null,
          targetUrl: input.target_url,
          eventTypes: input.event_types,
          activeFrom: input.active_from,
          activeUntil: input.active_until ?? null,
          publicKeyId: key.publicKeyId,
          createdBy: actor.principal.clientId,
        });
        await repo.insertKey(tx, {
          tenantId,
          webhookId: created.id,
          publicKeyId: key.publicKeyId,
          publicJwk: key.publicJwk,
          storedPrivateKey: key.storedPrivateKey,
        });
        await audit(tx, actor, 'create', created, {
          target_host: hostOf(created.target_url),
          event_types: created.event_types,
          contract_id: created.contract_id,
          public_key_id: created.public_key_id,
        });
        return created;
      });
      return repo.toWebhook(row);
    },

    async patch(actor: Actor, integrationId: string, id: string, input: WebhookPatch): Promise<Webhook> {
      const tenantId = requireTenant(actor);
      if (Object.keys(input).length === 0) {
        throw new AppError('ERR_VAL_MISSING_FIELD', 'nothing to change: give at least one field', {
          errors: [{ field: '(root)', message: 'at least one field is required' }],
        });
      }
      if (input.target_url !== undefined) {
        await checkTarget(input.target_url, config.allowInsecureTargets).catch(refuseTarget);
      }
      const row = await tenantTx(db, actor, async (tx) => {
        const integration = await integrationOf(tx, tenantId, integrationId, true);
        if (integration.status === 'archived')
          throw stateConflict(INTEGRATION, 'archived', 'change a webhook of');
        const current = await webhookOf(tx, tenantId, integrationId, id, true);
        if (current.status === 'disabled') throw stateConflict(WEBHOOK, current.status, 'change');
        if (input.active_until !== undefined) checkWindow(current.active_from, input.active_until);
        if (input.contract_id) await checkContract(tx, tenantId, integrationId, input.contract_id);
        const set: repo.WebhookSet = {};
        if (input.target_url !== undefined && input.target_url !== current.target_url)
          set.target_url = input.target_url;
        if (input.event_types !== undefined) set.event_types = input.event_types;
        if (input.active_until !== undefined) set.active_until = input.active_until;
        if (input.contract_id !== undefined && input.contract_id !== current.contract_id)
          set.contract_id = input.contract_id;
        if (Object.keys(set).length === 0) return current;
        const updated = await repo.updateWebhook(tx, tenantId, id, set);
        await audit(tx, actor, 'update', updated, {
          fields: Object.keys(set),
          ...(set.target_url ? { target_host: hostOf(set.target_url) } : {}),
        });
        return updated;
      });
      return repo.toWebhook(row);
    },

    async rotate(
      actor: Actor,
      integrationId: string,
      id: string,
      body: WebhookReasonBody,
    ): Promise<KeyRotated> {
      const tenantId = requireTenant(actor);
      checkReason(body.reason_code, body.reason_text);
      const result = await tenantTx(db, actor, async (tx) => {
        const integration = await integrationOf(tx, tenantId, integrationId, true);
        if (integration.status === 'archived')
          throw stateConflict(INTEGRATION, 'archived', 'rotate a key of');
        const current = await webhookOf(tx, tenantId, integrationId, id, true);
        if (current.status === 'disabled') throw stateConflict(WEBHOOK, current.status, 'rotate the key of');
        return rotateIn(tx, actor, current, body.reason_code);
      });
      return {
        webhook_id: result.updated.id,
        public_key_id: result.updated.public_key_id,
        rotated_at: (result.updated.rotated_at ?? result.updated.updated_at).toISOString(),
        previous_public_key_id: result.previous,
        previous_key_expires_at: result.expires.toISOString(),
      };
    },

    /** Stops deliveries at once: whatever was not sent yet is kept as held. Final (no re-enable). */
    async disable(
      actor: Actor,
      integrationId: string,
      id: string,
      body: WebhookReasonBody,
    ): Promise<Webhook> {
      const tenantId = requireTenant(actor);
      checkReason(body.reason_code, body.reason_text);
      const row = await tenantTx(db, actor, async (tx) => {
        await integrationOf(tx, tenantId, integrationId, true);
        const current = await webhookOf(tx, tenantId, integrationId, id, true);
        if (current.status === 'disabled') throw stateConflict(WEBHOOK, current.status, 'disable');
        const updated = await repo.updateWebhook(tx, tenantId, id, {
          disabled: {
            by: actor.principal.clientId,
            reasonCode: body.reason_code,
            reasonText: body.reason_text ?? null,
          },
        });
        const held = await drepo.holdOpen(tx, tenantId, id, 'webhook disabled');
        const overlap = body.reason_code === 'SECURITY_INCIDENT' ? 0 : overlapSeconds;
        await repo.retireKeys(tx, tenantId, id, overlap);
        if (overlap === 0) await repo.expireRetiredKeys(tx, tenantId, id);
        await audit(tx, actor, 'disable', updated, { reason_code: body.reason_code, held_deliveries: held });
        return updated;
      });
      return repo.toWebhook(row);
    },

    async deliveries(
      actor: Actor,
      integrationId: string,
      id: string,
      query: DeliveryListQuery & { limit: number },
    ): Promise<{ data: Delivery[]; next_cursor: string | null }> {
      const tenantId = requireTenant(actor);
      const rows = await tenantTx(db, actor, async (tx) => {
        await webhookOf(tx, tenantId, integrationId, id);
        return drepo.listDeliveries(tx, {
          tenantId,
          webhookId: id,
          status: query.status,
          eventId: query.event_id,
          beforeId: decodeIdCursor(query.cursor),
          limit: query.limit,
        });
      });
      return pageOf(rows, query.limit, (r) => [r.delivery_id]);
    },

    /** Sends a finished delivery again (a fresh round of attempts), if the webhook can receive. */
    async redeliver(actor: Actor, integrationId: string, id: string, deliveryId: string): Promise<Delivery> {
      const tenantId = requireTenant(actor);
      return tenantTx(db, actor, async (tx) => {
        const integration = await integrationOf(tx, tenantId, integrationId);
        const webhook = await webhookOf(tx, tenantId, integrationId, id, true);
        const delivery = await drepo.findDelivery(tx, tenantId, deliveryId, true);
        if (!delivery || delivery.webhook_id !== webhook.id) throw notFound('delivery');
        if (webhook.status !== 'active') throw stateConflict(WEBHOOK, webhook.status, 'redeliver through');
        if (!RECEIVING_STATUSES.includes(integration.status)) {
          throw stateConflict(INTEGRATION, integration.status, 'redeliver to');
        }
        if (delivery.status === 'pending' || delivery.status === 'waiting') {
          throw new AppError('ERR_CONFLICT', `the delivery is already ${delivery.status}`, {
            extra: { current_status: delivery.status },
          });
        }
        const updated = await drepo.requeue(tx, tenantId, deliveryId);
        await audit(tx, actor, 'redeliver', webhook, {
          delivery_id: deliveryId,
          event_id: delivery.event_id,
        });
        return (await drepo.withAttempts(tx, tenantId, [updated]))[0];
      });
    },

    /** A published public key (current, or retired within its overlap). Public: no tenant. */
    async publicKey(publicKeyId: string): Promise<PublicJwk> {
      const [key] = await repo.publishedKeys(db, publicKeyId);
      if (!key) throw notFound('webhook key');
      return key;
    },

    async publicKeys(): Promise<{ keys: PublicJwk[] }> {
      return { keys: await repo.publishedKeys(db) };
    },
  };
}

export type WebhookService = ReturnType<typeof createWebhookService>;
