import type { ErrorObject } from 'ajv';
import type { TSchema } from 'typebox';
import type { FieldError } from '../../http/errors.js';
import { uuidv7 } from '../../lib/ids.js';
import { badRequest, type DciAction, dciRefusal, type HeaderReason, type RequestStatus } from './codes.js';
import { type EnvelopeBody, MsgHeader } from './schemas.js';
import { errorMessage, errorPath, schemaErrors } from './validate.js';

/**
 * The DCI envelope rules that need no database: header shape and version, the action of the
 * path, encryption, our receiver id, and the message shape. Refusals carry the DCI error code and
 * the header reason code (codes.ts); sender, signature and replay checks are in the service.
 */

export const SUPPORTED_VERSION = '1.0.0';

/** A refusal made of schema errors: 422, err.request.bad, every field named. */
export function schemaRefusal(errors: ErrorObject[], prefix: string, reason?: HeaderReason) {
  const seen = new Set<string>();
  const fields: FieldError[] = [];
  for (const e of errors) {
    if (e.keyword === 'anyOf' || e.keyword === 'oneOf' || e.keyword === 'if') continue;
    const f = { field: errorPath(e, prefix), message: errorMessage(e) };
    const key = `${f.field}|${f.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    fields.push(f);
  }
  if (fields.length === 0) fields.push({ field: prefix, message: 'is invalid' });
  const detail =
    fields.length === 1
      ? `${fields[0].field} ${fields[0].message}`
      : `${fields.length} fields are invalid: ${fields[0].field} ${fields[0].message}, …`;
  return dciRefusal('ERR_VAL_INVALID_FORMAT', 'err.request.bad', detail, {
    reason,
    errors: fields,
    status: 422,
  });
}

/** The header of a request to an endpoint whose action is `action`. */
export function checkHeader(body: EnvelopeBody, action: DciAction, participantId: string): MsgHeader {
  const h = body.header;
  if (h.version !== undefined && h.version !== SUPPORTED_VERSION) {
    throw dciRefusal(
      'ERR_BAD_REQUEST',
      'err.version.not_supported',
      `header.version ${String(h.version).slice(0, 20)} is not supported (only ${SUPPORTED_VERSION})`,
      {
        reason: 'rjct.version.invalid',
        errors: [{ field: 'header.version', message: `must be ${SUPPORTED_VERSION}` }],
      },
    );
  }
  const errors = schemaErrors(MsgHeader, h);
  if (errors) {
    const paths = errors.map((e) => errorPath(e));
    const reason: HeaderReason | undefined = paths.includes('message_ts')
      ? 'rjct.message_ts.invalid'
      : paths.includes('total_count')
        ? 'rjct.total_count.invalid'
        : paths.includes('action')
          ? 'rjct.action.invalid'
          : undefined;
    throw schemaRefusal(errors, 'header', reason);
  }
  const header = h as MsgHeader;
  if (header.action !== action) {
    throw badRequest(
      `header.action must be "${action}" on this endpoint`,
      'rjct.action.invalid',
      'header.action',
    );
  }
  if (header.is_msg_encrypted === true) {
    throw dciRefusal(
      'ERR_BAD_REQUEST',
      'err.encryption.invalid',
      'encrypted messages are not supported: send is_msg_encrypted false over TLS',
      {
        errors: [{ field: 'header.is_msg_encrypted', message: 'encryption is not supported' }],
      },
    );
  }
  if (header.receiver_id !== undefined && header.receiver_id !== participantId) {
    throw dciRefusal(
      'ERR_BAD_REQUEST',
      'err.receiver_id.invalid',
      `header.receiver_id must be "${participantId}" (or left out)`,
      {
        errors: [{ field: 'header.receiver_id', message: `must be ${participantId}` }],
      },
    );
  }
  return header;
}

/** The message, checked against its schema (422 err.request.bad when not). */
export function checkMessage<T>(schema: TSchema, message: unknown): T {
  const errors = schemaErrors(schema, message);
  if (errors) throw schemaRefusal(errors, 'message');
  return message as T;
}

/** total_count must match the number of items; more than the batch limit is refused. */
export function checkCount(header: MsgHeader, items: number, maxBatch: number): void {
  if (header.total_count !== items) {
    throw badRequest(
      `header.total_count is ${header.total_count} but the message holds ${items} request(s)`,
      'rjct.total_count.invalid',
      'header.total_count',
    );
  }
  if (items > maxBatch) {
    throw badRequest(
      `a message may hold at most ${maxBatch} requests`,
      'rjct.total_count.limit_exceeded',
      'header.total_count',
    );
  }
}

export interface ReplyHeaderInput {
  action: DciAction;
  status: RequestStatus;
  reason?: HeaderReason;
  reasonMessage?: string;
  total: number;
  completed: number;
  /** Us. */
  senderId: string;
  /** The caller, when known. */
  receiverId?: string | null;
  meta?: Record<string, unknown>;
}

/**
 * A header that validates as both MsgCallbackHeader_V1.0.0 and MsgHeader_V1.0.0, so whichever
 * type a path declares, ours satisfies it.
 */
export function replyHeader(i: ReplyHeaderInput): Record<string, unknown> {
  return {
    version: SUPPORTED_VERSION,
    message_id: uuidv7(),
    message_ts: new Date().toISOString(),
    action: i.action,
    status: i.status,
    ...(i.reason ? { status_reason_code: i.reason } : {}),
    ...(i.reasonMessage ? { status_reason_message: i.reasonMessage.slice(0, 999) } : {}),
    total_count: i.total,
    completed_count: i.completed,
    sender_id: i.senderId,
    ...(i.receiverId ? { receiver_id: i.receiverId } : {}),
    is_msg_encrypted: false,
    ...(i.meta ? { meta: i.meta } : {}),
  };
}

/** The immediate answer of an async endpoint. */
export function ackBody(correlationId: string, status: 'ACK' | 'NACK' = 'ACK') {
  return {
    message: { ack_status: status, timestamp: new Date().toISOString(), correlation_id: correlationId },
  };
}

/** Header status of a batch: succ when any item succeeded, rjct when none did. */
export function batchStatus(statuses: readonly RequestStatus[]): RequestStatus {
  return statuses.some((s) => s === 'succ') ? 'succ' : 'rjct';
}
