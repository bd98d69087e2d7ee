/** Stable machine codes, one per kind of refusal. Clients branch on these, never on text. */
export const ErrorCodes = {
  ERR_VAL_INVALID_FORMAT: 422,
  ERR_VAL_MISSING_FIELD: 422,
  ERR_VAL_RULE_VIOLATION: 422,
  ERR_VAL_UNKNOWN_FIELD: 422,
  ERR_BAD_REQUEST: 400,
  ERR_MALFORMED_BODY: 400,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_PAYLOAD_TOO_LARGE: 413,
  ERR_URI_TOO_LONG: 414,
  ERR_HEADERS_TOO_LARGE: 431,
  ERR_AUTH_INVALID: 401,
  ERR_AUTH_EXPIRED: 401,
  ERR_AUTH_TOTP_REQUIRED: 401,
  ERR_AUTH_LOCKED: 429,
  ERR_AUTH_SESSION_RESTRICTED: 403,
  ERR_SEC_CSRF: 403,
  ERR_SEC_FORBIDDEN: 403,
  ERR_SEC_SCOPE_VIOLATION: 403,
  ERR_CON_REQUIRED: 403,
  ERR_CON_EXPIRED: 403,
  ERR_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_NOT_ACCEPTABLE: 406,
  ERR_CONFLICT: 409,
  ERR_STATE_CONFLICT: 409,
  ERR_PRECONDITION_FAILED: 412,
  ERR_PRECONDITION_REQUIRED: 428,
  ERR_IDEMPOTENCY_MISMATCH: 422,
  ERR_IDEMPOTENCY_IN_PROGRESS: 409,
  ERR_RATE_LIMITED: 429,
  ERR_SYS_INTERNAL: 500,
  ERR_SYS_DB_FAILURE: 503,
  ERR_SYS_UPSTREAM_DOWN: 502,
  ERR_SYS_UNAVAILABLE: 503,
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface FieldError {
  field: string;
  message: string;
  code?: string;
}

export interface AppErrorOptions {
  errors?: FieldError[];
  headers?: Record<string, string>;
  /** Extra members added to the problem document (e.g. `current_status`). */
  extra?: Record<string, unknown>;
  status?: number;
}

/**
 * The one error type of the service. Domain code throws it with a code; the HTTP layer renders it
 * once as problem+json. Status comes from the code, never from the message.
 */
export class AppError extends Error {
  readonly status: number;
  readonly errors: FieldError[] | undefined;
  readonly headers: Record<string, string> | undefined;
  readonly extra: Record<string, unknown> | undefined;

  constructor(
    readonly code: ErrorCode,
    detail: string,
    options: AppErrorOptions = {},
  ) {
    super(detail);
    this.name = 'AppError';
    this.status = options.status ?? ErrorCodes[code];
    this.errors = options.errors;
    this.headers = options.headers;
    this.extra = options.extra;
  }
}

export const notFound = (what: string) => new AppError('ERR_NOT_FOUND', `${what} not found`);

export const conflict = (detail: string, field?: string) =>
  new AppError('ERR_CONFLICT', detail, field ? { errors: [{ field, message: detail }] } : {});

export const invalid = (field: string, message: string, code: ErrorCode = 'ERR_VAL_INVALID_FORMAT') =>
  new AppError(code, `${field}: ${message}`, { errors: [{ field, message }] });

export const forbidden = (detail: string) => new AppError('ERR_SEC_FORBIDDEN', detail);

/** An illegal state transition: 409 naming the current status. */
export const stateConflict = (resource: string, currentStatus: string, action: string) =>
  new AppError('ERR_STATE_CONFLICT', `cannot ${action} a ${resource} whose status is ${currentStatus}`, {
    extra: { current_status: currentStatus },
  });
