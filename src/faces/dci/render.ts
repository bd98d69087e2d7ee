import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppError } from '../../http/errors.js';
import { problemType } from '../../http/problem.js';
import { type DciAction, dciCodeOf, type HeaderReason } from './codes.js';
import { replyHeader } from './envelope.js';

/** Which DCI endpoint a route is: decides the shape its refusals must take to satisfy the contract. */
export type DciEndpoint =
  | 'token'
  | 'sync-search'
  | 'sync-txn-status'
  | 'search'
  | 'txn-status'
  | 'subscribe'
  | 'unsubscribe';

declare module 'fastify' {
  interface FastifyContextConfig {
    dci?: DciEndpoint;
  }
}

const ANSWER_ACTION: Record<Exclude<DciEndpoint, 'token'>, DciAction> = {
  'sync-search': 'on-search',
  'sync-txn-status': 'txn-on-status',
  search: 'on-search',
  'txn-status': 'txn-on-status',
  subscribe: 'on-subscribe',
  unsubscribe: 'on-unsubscribe',
};

/** What can safely be echoed from a (possibly invalid) request body. */
function echo(body: unknown): { senderId: string | null; transactionId: string; total: number } {
  const b = (body ?? {}) as { header?: Record<string, unknown>; message?: Record<string, unknown> };
  const sender = b.header?.sender_id;
  const txn = b.message?.transaction_id;
  const total = b.header?.total_count;
  return {
    senderId: typeof sender === 'string' && sender.length <= 200 ? sender : null,
    transactionId: typeof txn === 'string' && txn.length <= 99 ? txn : '',
    total: typeof total === 'number' && Number.isInteger(total) && total >= 0 ? total : 0,
  };
}

/**
 * A refusal as DCI clients and the contract need it (docs/decisions/0061-dci-errors.md): the
 * contract's `errors[]`, a DCI `message` with ack_status ERR and `error.code`, a rejected header
 * with the header reason code, and the problem fields Hearth gives every error. On the sync
 * endpoints, whose only non-401/403 response is the answer envelope, the message also carries the
 * fields SearchResponse / TxnStatusResponse require, empty.
 */
export function dciErrorBody(
  err: AppError,
  request: FastifyRequest,
  endpoint: DciEndpoint,
  participantId: string,
) {
  const code = dciCodeOf(err);
  const detail = err.message.slice(0, 999);
  const correlationId = request.id.slice(0, 99);
  const problem = {
    type: problemType(err.code),
    title: STATUS_CODES[err.status] ?? 'Error',
    status: err.status,
    detail,
    code: err.code,
    correlation_id: correlationId,
    instance: request.url.split('?')[0],
    ...(err.extra
      ? Object.fromEntries(Object.entries(err.extra).filter(([k]) => k !== 'dci_code' && k !== 'reason_code'))
      : {}),
  };
  const errors = [
    { code, message: detail },
    ...(err.errors ?? []).map((f) => ({ code: f.code ?? code, message: f.message, field: f.field })),
  ];
  const ack = {
    ack_status: 'ERR',
    timestamp: new Date().toISOString(),
    correlation_id: correlationId,
    error: { code, message: detail },
  };
  if (endpoint === 'token') return { ...problem, errors, message: ack };
  const e = echo(request.body);
  const reason = err.extra?.reason_code as HeaderReason | undefined;
  const header = replyHeader({
    action: ANSWER_ACTION[endpoint],
    status: 'rjct',
    reason,
    reasonMessage: detail,
    total: e.total,
    completed: 0,
    senderId: participantId,
    receiverId: e.senderId,
  });
  let message: Record<string, unknown> = ack;
  if (endpoint === 'sync-search') {
    message = { ...ack, transaction_id: e.transactionId, search_response: [] };
  } else if (endpoint === 'sync-txn-status') {
    message = {
      ...ack,
      transaction_id: e.transactionId,
      txnstatus_response: {
        txn_type: 'search',
        txn_status: { transaction_id: e.transactionId, correlation_id: correlationId, search_response: [] },
      },
    };
  }
  return { ...problem, errors, header, message };
}

export function sendDciError(
  request: FastifyRequest,
  reply: FastifyReply,
  err: AppError,
  endpoint: DciEndpoint,
  participantId: string,
): FastifyReply {
  if (err.headers) reply.headers(err.headers);
  if (endpoint === 'token') reply.header('Cache-Control', 'no-store');
  return reply
    .code(err.status)
    .type('application/json; charset=utf-8')
    .serializer(JSON.stringify)
    .send(dciErrorBody(err, request, endpoint, participantId));
}
