import type { Actor } from '../../auth/principal.js';
import { uuidv7 } from '../../lib/ids.js';
import { queueCompletion } from './callbacks.js';
import { dciRefusal } from './codes.js';
import { type DciServiceDeps, type Envelope, endpointKit } from './endpoint-kit.js';
import { ackBody, batchStatus, checkCount, checkHeader, checkMessage, replyHeader } from './envelope.js';
import { admit, assertFresh } from './gate.js';
import { txnStatusResponseOf } from './responses.js';
import { type EnvelopeBody, SearchMessage, TxnStatusMessage } from './schemas.js';
import { outcomeOf, type PreparedItem, prepareSearchItems, runSearch } from './search.js';
import { subscriptionEndpoints } from './subscription-endpoints.js';
import { insertTxn } from './txn-repo.js';

export type { DciServiceDeps } from './endpoint-kit.js';

/**
 * The DCI Social Registry endpoints: each checks the envelope (envelope.ts), admits the sender
 * (gate.ts), answers or stores the transaction with its callback in one tenant transaction.
 */
export function createDciService(deps: DciServiceDeps) {
  const kit = endpointKit(deps);
  const { config, dci, withTenant, runContext, txnBase, signed } = kit;

  /** Every item rejected before anything runs: nothing to call back about, answered as an error. */
  function refuseAll(items: readonly PreparedItem[]): never {
    const rejected = items.filter((p): p is Extract<PreparedItem, { ok: false }> => !p.ok);
    const first = rejected[0];
    throw dciRefusal(
      'ERR_BAD_REQUEST',
      'err.request.bad',
      `every request of the message is invalid: ${first.reason}: ${first.message}`,
      {
        errors: rejected.map((p, i) => ({
          field: `message.search_request[${i}]`,
          message: p.message,
          code: p.reason,
        })),
      },
    );
  }

  return {
    /** POST /registry/sync/search: the answer in the response (header action on-search). */
    async syncSearch(actor0: Actor, body: EnvelopeBody): Promise<Envelope> {
      const header = checkHeader(body, 'search', dci.participantId);
      return withTenant(actor0, async (tx, actor, tenantId) => {
        await admit(tx, actor, tenantId, config, body, header, false);
        const message = checkMessage<{ transaction_id: string; search_request: unknown[] }>(
          SearchMessage,
          body.message,
        );
        checkCount(header, message.search_request.length, dci.maxBatch);
        await assertFresh(tx, tenantId, actor, header, dci.replayWindowSeconds);
        const results = await runSearch(
          await runContext(tx, actor, tenantId),
          prepareSearchItems(message.search_request, dci),
        );
        const status = batchStatus(results.map((r) => r.status));
        const id = uuidv7();
        await insertTxn(tx, {
          ...txnBase(actor, tenantId, header),
          id,
          kind: 'search',
          mode: 'sync',
          transactionId: message.transaction_id,
          status,
          request: message,
          outcome: outcomeOf(results),
          referenceIds: results.map((r) => r.reference_id),
        });
        return signed(
          replyHeader({
            action: 'on-search',
            status,
            total: results.length,
            completed: results.length,
            senderId: dci.participantId,
            receiverId: header.sender_id,
          }),
          { transaction_id: message.transaction_id, correlation_id: id, search_response: results },
        );
      });
    },

    /** POST /registry/search: ACK now, on-search to the sender's callback URL later. */
    async asyncSearch(actor0: Actor, body: EnvelopeBody) {
      const header = checkHeader(body, 'search', dci.participantId);
      const ack = await withTenant(actor0, async (tx, actor, tenantId) => {
        const adm = await admit(tx, actor, tenantId, config, body, header, true);
        const message = checkMessage<{ transaction_id: string; search_request: unknown[] }>(
          SearchMessage,
          body.message,
        );
        checkCount(header, message.search_request.length, dci.maxBatch);
        const prepared = prepareSearchItems(message.search_request, dci);
        if (prepared.every((p) => !p.ok)) refuseAll(prepared);
        await assertFresh(tx, tenantId, actor, header, dci.replayWindowSeconds);
        const id = uuidv7();
        await insertTxn(tx, {
          ...txnBase(actor, tenantId, header),
          id,
          kind: 'search',
          mode: 'async',
          transactionId: message.transaction_id,
          status: 'pdng',
          request: message,
          outcome: null,
          referenceIds: prepared.map((p) => (p.ok ? p.item.reference_id : p.reference_id)),
        });
        if (!adm.callbackUrl) {
          // Nowhere to call back: the search still runs, for txn/status; NACK says no callback follows.
          await queueCompletion(tx, tenantId, id);
          return ackBody(id, 'NACK');
        }
        await kit.callBack(tx, actor, tenantId, 'on-search', adm.callbackUrl, id);
        return ackBody(id);
      });
      deps.nudge();
      return ack;
    },

    /** POST /registry/sync/txn/status. */
    async syncTxnStatus(actor0: Actor, body: EnvelopeBody): Promise<Envelope> {
      const header = checkHeader(body, 'txn-status', dci.participantId);
      return withTenant(actor0, async (tx, actor, tenantId) => {
        await admit(tx, actor, tenantId, config, body, header, false);
        const message = checkMessage<TxnStatusMessage>(TxnStatusMessage, body.message);
        checkCount(header, 1, dci.maxBatch);
        await assertFresh(tx, tenantId, actor, header, dci.replayWindowSeconds);
        const built = await txnStatusResponseOf(
          await runContext(tx, actor, tenantId),
          actor.principal.clientId,
          uuidv7(),
          message,
        );
        return signed(
          replyHeader({
            action: 'txn-on-status',
            status: built.status,
            total: built.total,
            completed: built.completed,
            senderId: dci.participantId,
            receiverId: header.sender_id,
          }),
          built.message,
        );
      });
    },

    /** POST /registry/txn/status: ACK now, txn-on-status later. */
    async asyncTxnStatus(actor0: Actor, body: EnvelopeBody) {
      const header = checkHeader(body, 'txn-status', dci.participantId);
      const ack = await withTenant(actor0, async (tx, actor, tenantId) => {
        const adm = await admit(tx, actor, tenantId, config, body, header, true);
        const message = checkMessage<TxnStatusMessage>(TxnStatusMessage, body.message);
        checkCount(header, 1, dci.maxBatch);
        await assertFresh(tx, tenantId, actor, header, dci.replayWindowSeconds);
        const id = uuidv7();
        await insertTxn(tx, {
          ...txnBase(actor, tenantId, header),
          id,
          kind: 'txn-status',
          mode: 'async',
          transactionId: message.transaction_id,
          status: 'succ',
          request: message,
          outcome: null,
          referenceIds: [message.txnstatus_request.reference_id],
        });
        if (!adm.callbackUrl) return ackBody(id, 'NACK');
        await kit.callBack(tx, actor, tenantId, 'txn-on-status', adm.callbackUrl, id);
        return ackBody(id);
      });
      deps.nudge();
      return ack;
    },

    ...subscriptionEndpoints(kit),
  };
}

export type DciService = ReturnType<typeof createDciService>;
