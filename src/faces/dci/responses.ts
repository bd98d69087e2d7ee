import type { RequestStatus } from './codes.js';
import { batchStatus } from './envelope.js';
import type { TxnStatusMessage } from './schemas.js';
import { prepareSearchItems, runSearch, type SearchResult, type SearchRunContext } from './search.js';
import { type SubscribeOutcome, subscriptionInfo, type UnsubscribeOutcome } from './subscribe.js';
import * as subs from './subscription-repo.js';
import { lookupTxn, type TxnKind, type TxnRow } from './txn-repo.js';

/**
 * The messages of DCI answers and callbacks, rebuilt from what is stored (requests and outcomes)
 * each time they are sent: records always come fresh through the consent decision.
 */

export interface BuiltMessage {
  message: Record<string, unknown>;
  status: RequestStatus;
  total: number;
  completed: number;
}

/** SearchResponse of a stored search: its items run again as the caller may see them now. */
export async function searchResponseOf(
  ctx: SearchRunContext,
  txn: TxnRow,
  onlyRefs?: ReadonlySet<string>,
): Promise<BuiltMessage> {
  const raw = (txn.request.search_request as unknown[]) ?? [];
  let prepared = prepareSearchItems(raw, ctx.config);
  if (onlyRefs) prepared = prepared.filter((p) => onlyRefs.has(p.ok ? p.item.reference_id : p.reference_id));
  let results: SearchResult[];
  if (txn.status === 'pdng' || txn.status === 'rcvd') {
    const now = new Date().toISOString();
    results = prepared.map((p) => ({
      reference_id: p.ok ? p.item.reference_id : p.reference_id,
      timestamp: now,
      status: txn.status,
    }));
  } else {
    results = await runSearch(ctx, prepared);
  }
  return {
    message: {
      transaction_id: txn.transaction_id,
      correlation_id: txn.correlation_id,
      search_response: results,
    },
    status: results.length === 0 ? 'succ' : batchStatus(results.map((r) => r.status)),
    total: raw.length,
    completed: results.filter((r) => r.status === 'succ' || r.status === 'rjct').length,
  };
}

/** SubscribeResponse of a stored subscribe transaction. */
export async function subscribeResponseOf(ctx: SearchRunContext, txn: TxnRow): Promise<BuiltMessage> {
  const outcome = (txn.outcome as SubscribeOutcome[] | null) ?? [];
  const rows = new Map((await subs.subscriptionsOfTxn(ctx.tx, ctx.tenantId, txn.id)).map((s) => [s.id, s]));
  const now = new Date().toISOString();
  const items = outcome.map((o) => {
    const s = o.subscription_id ? rows.get(o.subscription_id) : undefined;
    return {
      reference_id: o.reference_id,
      timestamp: now,
      status: o.status,
      ...(o.status_reason_code ? { status_reason_code: o.status_reason_code } : {}),
      ...(o.status_reason_message ? { status_reason_message: o.status_reason_message } : {}),
      ...(s ? { subscriptions: [subscriptionInfo(s)] } : {}),
      ...(o.locale ? { locale: o.locale } : {}),
    };
  });
  return {
    message: {
      transaction_id: txn.transaction_id,
      correlation_id: txn.correlation_id,
      subscribe_response: items,
    },
    status: batchStatus(outcome.map((o) => o.status)),
    total: outcome.length,
    completed: outcome.length,
  };
}

/** UnSubscribeResponse of a stored unsubscribe transaction. */
export function unsubscribeResponseOf(txn: TxnRow): BuiltMessage {
  const o = txn.outcome as UnsubscribeOutcome;
  return {
    message: {
      transaction_id: txn.transaction_id,
      correlation_id: txn.correlation_id,
      timestamp: new Date().toISOString(),
      status: o.status,
      ...(o.status_reason_code ? { status_reason_code: o.status_reason_code } : {}),
      ...(o.status_reason_message ? { status_reason_message: o.status_reason_message } : {}),
      subscription_status: o.subscription_status,
    },
    status: o.status,
    total: 1,
    completed: 1,
  };
}

const KINDS: Record<string, readonly TxnKind[]> = {
  search: ['search'],
  subscribe: ['subscribe', 'unsubscribe'],
  subscibe: ['subscribe', 'unsubscribe'],
  receipt: [],
};

/** Subscribe outcomes as search-style items: their own reason codes go in the message. */
function subscribeItems(txn: TxnRow): SearchResult[] {
  const now = new Date().toISOString();
  if (txn.kind === 'unsubscribe') {
    const o = txn.outcome as UnsubscribeOutcome | null;
    return [
      {
        reference_id: txn.transaction_id,
        timestamp: now,
        status: o?.status ?? txn.status,
        ...(o?.status_reason_code
          ? {
              status_reason_message: `${o.status_reason_code}: ${o.status_reason_message ?? ''}`.slice(
                0,
                999,
              ),
            }
          : {}),
      },
    ];
  }
  return ((txn.outcome as SubscribeOutcome[] | null) ?? []).map((o) => ({
    reference_id: o.reference_id,
    timestamp: now,
    status: o.status,
    ...(o.status_reason_code
      ? { status_reason_message: `${o.status_reason_code}: ${o.status_reason_message ?? ''}`.slice(0, 999) }
      : {}),
  }));
}

/**
 * TxnStatusResponse: the caller's own transaction found by transaction_id, reference ids or our
 * correlation_id. An unknown one is answered (never a 404) with one rejected item.
 */
export async function txnStatusResponseOf(
  ctx: SearchRunContext,
  clientId: string,
  correlationId: string,
  message: TxnStatusMessage,
): Promise<BuiltMessage> {
  const r = message.txnstatus_request;
  const txnType = r.txn_type === 'subscibe' ? 'subscribe' : r.txn_type;
  const values = Array.isArray(r.attribute_value) ? r.attribute_value : [r.attribute_value];
  const kinds = KINDS[r.txn_type] ?? [];
  const txn =
    kinds.length === 0
      ? null
      : await lookupTxn(ctx.tx, { tenantId: ctx.tenantId, clientId, kinds, by: r.attribute_type, values });
  let txnStatus: Record<string, unknown>;
  if (!txn) {
    txnStatus = {
      transaction_id: r.attribute_type === 'transaction_id' ? values[0] : message.transaction_id,
      correlation_id: r.attribute_type === 'correlation_id' ? values[0] : correlationId,
      search_response: [
        {
          reference_id: r.reference_id,
          timestamp: new Date().toISOString(),
          status: 'rjct',
          status_reason_code: 'rjct.reference_id.invalid',
          status_reason_message: `no ${txnType} transaction of yours matches this ${r.attribute_type}`,
        },
      ],
    };
  } else if (txn.kind === 'search') {
    const refs = r.attribute_type === 'reference_id_list' ? new Set(values) : undefined;
    txnStatus = (await searchResponseOf(ctx, txn, refs)).message;
  } else {
    txnStatus = {
      transaction_id: txn.transaction_id,
      correlation_id: txn.correlation_id,
      search_response: subscribeItems(txn),
    };
  }
  return {
    message: {
      transaction_id: message.transaction_id,
      correlation_id: correlationId,
      txnstatus_response: { txn_type: txnType, txn_status: txnStatus },
    },
    status: 'succ',
    total: 1,
    completed: 1,
  };
}
