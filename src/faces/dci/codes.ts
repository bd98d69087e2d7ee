import { AppError, type ErrorCode, type FieldError } from '../../http/errors.js';

/** The spec's `Error.code` list (acknowledgement and HTTP error bodies). */
export const DCI_ERROR_CODES = [
  'err.request.bad',
  'err.request.unauthorized',
  'err.request.forbidden',
  'err.request.not_found',
  'err.request.timeout',
  'err.version.not_supported',
  'err.request.too_many_requests',
  'err.sender_id.invalid',
  'err.sender_uri.invalid',
  'err.receiver_id.invalid',
  'err.signature.missing',
  'err.signature.invalid',
  'err.encryption.invalid',
  'err.service.unavailable',
] as const;
export type DciErrorCode = (typeof DCI_ERROR_CODES)[number];

/** `MsgHeaderStatusReasonCode`: why a whole message was rejected. */
export type HeaderReason =
  | 'rjct.version.invalid'
  | 'rjct.message_id.duplicate'
  | 'rjct.message_ts.invalid'
  | 'rjct.action.invalid'
  | 'rjct.action.not_supported'
  | 'rjct.total_count.invalid'
  | 'rjct.total_count.limit_exceeded'
  | 'rjct.errors.too_many';

/** `SearchStatusReasonCode`: why one search item was rejected. */
export type SearchReason =
  | 'rjct.reference_id.invalid'
  | 'rjct.reference_id.duplicate'
  | 'rjct.timestamp.invalid'
  | 'rjct.search_criteria.invalid'
  | 'rjct.filter.invalid'
  | 'rjct.sort.invalid'
  | 'rjct.pagination.invalid'
  | 'rjct.search.too_many_records_found';

/** `SubscribeStatusReasonCode`. */
export type SubscribeReason =
  | 'rjct.reference_id.invalid'
  | 'rjct.reference_id.duplicate'
  | 'rjct.timestamp.invalid'
  | 'rjct.notify_types.invalid'
  | 'rjct.notify_details.invalid'
  | 'rjct.person_id.invalid'
  | 'rjct.event.already_subscribed';

/** `UnSubscribeStatusReasonCode`. */
export type UnsubscribeReason =
  | 'rjct.reference_id.invalid'
  | 'rjct.reference_id.duplicate'
  | 'rjct.timestamp.invalid'
  | 'rjct.subscription_code.invalid'
  | 'rjct.requester.invalid'
  | 'rjct.event.already_unsubscribed';

export type RequestStatus = 'rcvd' | 'pdng' | 'succ' | 'rjct';

/** The DCI actions of our endpoints and of the callbacks we send. */
export type DciAction =
  | 'search'
  | 'on-search'
  | 'txn-status'
  | 'txn-on-status'
  | 'subscribe'
  | 'on-subscribe'
  | 'unsubscribe'
  | 'on-unsubscribe'
  | 'notify';

/** What a refusal carries besides its Hearth code: the DCI error code and, if any, the header reason. */
export interface DciExtra {
  dci_code: DciErrorCode;
  reason_code?: HeaderReason;
}

/**
 * A refusal of a whole DCI message. The Hearth code keeps the HTTP status and the problem fields;
 * `extra.dci_code` is what DCI clients read (`message.error.code`).
 */
export function dciRefusal(
  code: ErrorCode,
  dciCode: DciErrorCode,
  detail: string,
  options: { reason?: HeaderReason; status?: number; errors?: FieldError[] } = {},
): AppError {
  const extra: DciExtra = { dci_code: dciCode };
  if (options.reason) extra.reason_code = options.reason;
  return new AppError(code, detail.slice(0, 999), {
    status: options.status,
    errors: options.errors,
    extra: extra as unknown as Record<string, unknown>,
  });
}

export const badRequest = (detail: string, reason?: HeaderReason, field?: string) =>
  dciRefusal('ERR_BAD_REQUEST', 'err.request.bad', detail, {
    reason,
    errors: field ? [{ field, message: detail }] : undefined,
  });

/** The DCI error code of any refusal: its own, else the one its HTTP status means. */
export function dciCodeOf(err: AppError): DciErrorCode {
  const own = err.extra?.dci_code;
  if (typeof own === 'string' && (DCI_ERROR_CODES as readonly string[]).includes(own))
    return own as DciErrorCode;
  switch (err.status) {
    case 401:
      return 'err.request.unauthorized';
    case 403:
      return 'err.request.forbidden';
    case 404:
      return 'err.request.not_found';
    case 408:
      return 'err.request.timeout';
    case 429:
      return 'err.request.too_many_requests';
    default:
      return err.status >= 500 ? 'err.service.unavailable' : 'err.request.bad';
  }
}
