import { auditOf, recordAudit } from '../../audit/audit.js';
import type { Actor } from '../../auth/principal.js';
import { uuidv7 } from '../../lib/ids.js';
import { badRequest, dciRefusal } from './codes.js';
import type { EndpointKit } from './endpoint-kit.js';
import { ackBody, batchStatus, checkCount, checkHeader, checkMessage } from './envelope.js';
import { admit, assertFresh } from './gate.js';
import { type EnvelopeBody, SubscribeMessage, UnsubscribeMessage } from './schemas.js';
import { createSubscriptions, prepareSubscriptions, unsubscribeCodes } from './subscribe.js';
import { completeTxn, insertTxn } from './txn-repo.js';

/** POST /registry/subscribe and /registry/unsubscribe. */
export function subscriptionEndpoints(kit: EndpointKit) {
  const { config, dci, deps, withTenant, runContext, txnBase } = kit;
  return {
    /** POST /registry/subscribe: subscriptions are created now; on-subscribe reports them. */
    async subscribe(actor0: Actor, body: EnvelopeBody) {
      const header = checkHeader(body, 'subscribe', dci.participantId);
      const ack = await withTenant(actor0, async (tx, actor, tenantId) => {
        const adm = await admit(tx, actor, tenantId, config, body, header, true);
        const message = checkMessage<{ transaction_id: string; subscribe_request: unknown[] }>(
          SubscribeMessage,
          body.message,
        );
        checkCount(header, message.subscribe_request.length, dci.maxBatch);
        const ctx = await runContext(tx, actor, tenantId);
        const prepared = prepareSubscriptions(message.subscribe_request, ctx.reader, dci, adm.callbackUrl);
        if (prepared.every((p) => !p.ok)) {
          const rejected = prepared.map((p) => (p.ok ? null : p.outcome)).filter((o) => o !== null);
          throw dciRefusal(
            'ERR_BAD_REQUEST',
            'err.request.bad',
            `every request of the message is invalid: ${rejected[0].status_reason_code}: ${rejected[0].status_reason_message}`,
            {
              errors: rejected.map((o, i) => ({
                field: `message.subscribe_request[${i}]`,
                message: o.status_reason_message ?? 'is invalid',
                code: o.status_reason_code,
              })),
            },
          );
        }
        await assertFresh(tx, tenantId, actor, header, dci.replayWindowSeconds);
        const id = uuidv7();
        await insertTxn(tx, {
          ...txnBase(actor, tenantId, header),
          id,
          kind: 'subscribe',
          mode: 'async',
          transactionId: message.transaction_id,
          status: 'pdng',
          request: message,
          outcome: null,
          referenceIds: [],
        });
        // Every valid item needs a callback URL (prepareSubscriptions), so one exists here.
        const callbackUrl = adm.callbackUrl!;
        const outcome = await createSubscriptions(
          {
            tx,
            tenantId,
            clientId: actor.principal.clientId,
            senderId: header.sender_id,
            transactionRow: id,
            callbackUrl,
          },
          prepared,
        );
        await completeTxn(
          tx,
          tenantId,
          id,
          batchStatus(outcome.map((o) => o.status)),
          outcome,
          outcome.map((o) => o.reference_id),
        );
        await recordAudit(
          tx,
          actor,
          auditOf(
            actor,
            'dci.subscribe',
            { type: 'dci_transaction', id },
            {
              details: {
                transaction_id: message.transaction_id,
                subscriptions: outcome.filter((o) => o.subscription_id).map((o) => o.subscription_id),
              },
            },
          ),
        );
        await kit.callBack(tx, actor, tenantId, 'on-subscribe', callbackUrl, id);
        return ackBody(id);
      });
      deps.nudge();
      return ack;
    },

    /** POST /registry/unsubscribe: unknown codes are still ACKed and rejected in on-unsubscribe. */
    async unsubscribe(actor0: Actor, body: EnvelopeBody) {
      const header = checkHeader(body, 'unsubscribe', dci.participantId);
      const ack = await withTenant(actor0, async (tx, actor, tenantId) => {
        const adm = await admit(tx, actor, tenantId, config, body, header, true);
        const message = checkMessage<UnsubscribeMessage>(UnsubscribeMessage, body.message);
        // One request (total_count 1); a count of its codes is accepted too.
        const codes = message.subscription_codes.length;
        checkCount(header, header.total_count === codes ? codes : 1, dci.maxBatch);
        if (message.subscription_codes.length > dci.maxBatch) {
          throw badRequest(
            `at most ${dci.maxBatch} subscription codes per message`,
            'rjct.total_count.limit_exceeded',
          );
        }
        await assertFresh(tx, tenantId, actor, header, dci.replayWindowSeconds);
        const outcome = await unsubscribeCodes(
          tx,
          tenantId,
          actor.principal.clientId,
          message.subscription_codes,
        );
        const id = uuidv7();
        await insertTxn(tx, {
          ...txnBase(actor, tenantId, header),
          id,
          kind: 'unsubscribe',
          mode: 'async',
          transactionId: message.transaction_id,
          status: outcome.status,
          request: message,
          outcome,
          referenceIds: [],
        });
        await recordAudit(
          tx,
          actor,
          auditOf(
            actor,
            'dci.unsubscribe',
            { type: 'dci_transaction', id },
            {
              details: {
                transaction_id: message.transaction_id,
                ended: outcome.subscription_status.map((x) => x.code),
              },
            },
          ),
        );
        if (!adm.callbackUrl) return ackBody(id, 'NACK');
        await kit.callBack(tx, actor, tenantId, 'on-unsubscribe', adm.callbackUrl, id);
        return ackBody(id);
      });
      deps.nudge();
      return ack;
    },
  };
}
