import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../../http/errors.js';

/**
 * G2P Registry error codes. 001–010 keep OpenG2P's meanings; 011–017 are Hearth's additions for
 * refusals OpenG2P had no code for (docs/decisions/0056).
 */
export const G2P_ERRORS = {
  'G2P-REQ-001': 'Invalid kind field.',
  'G2P-REQ-002': 'Field is mandatory.',
  'G2P-REQ-003': 'Group type Not Found',
  'G2P-REQ-004': "Member's kind not found.",
  'G2P-REQ-005': 'Invalid ID field.',
  'G2P-REQ-006': 'Invalid phone number.',
  'G2P-REQ-007': 'Invalid email address.',
  'G2P-REQ-008': 'Invalid gender.',
  'G2P-REQ-010': 'ID/Name not present.',
  'G2P-REQ-011': 'Invalid date.',
  'G2P-REQ-012': 'ID already registered.',
  'G2P-REQ-013': 'Invalid request.',
  'G2P-REQ-014': 'Authentication failed.',
  'G2P-REQ-015': 'Access denied.',
  'G2P-REQ-016': 'Too many requests.',
  'G2P-REQ-017': 'Conflict with the current state of the record.',
  'G2P-SRV-001': 'Internal server error.',
} as const;
export type G2pErrorCode = keyof typeof G2P_ERRORS;

export const G2pError = Type.Object(
  {
    error_code: Type.String({ examples: ['G2P-REQ-008'] }),
    error_message: Type.String({ examples: ['Invalid gender.'] }),
    error_description: Type.String({ examples: ['gender: "x" is not a code of the gender vocabulary'] }),
    code: Type.String({
      description: 'Hearth machine code of the same refusal',
      examples: ['ERR_VAL_INVALID_FORMAT'],
    }),
    correlation_id: Type.String(),
  },
  { description: 'G2P Registry error' },
);

/** Error responses every G2P route declares (OpenAPI). */
export const G2P_ERROR_RESPONSES = Object.fromEntries(
  [400, 401, 403, 404, 409, 413, 415, 422, 429, 500].map((s) => [s, G2pError]),
) as Record<number, typeof G2pError>;

const DATE_FIELD = /(^|\.)(registration_date|birthdate|date_collected)$/;

/** The G2P code of a refusal: from its status, its Hearth code and the G2P field it names. */
export function g2pCodeOf(err: AppError): G2pErrorCode {
  const s = err.status;
  if (s === 401) return 'G2P-REQ-014';
  if (s === 403) return 'G2P-REQ-015';
  if (s === 404) return 'G2P-REQ-010';
  if (s === 429) return 'G2P-REQ-016';
  if (s >= 500) return 'G2P-SRV-001';
  const field = err.errors?.[0]?.field ?? '';
  // A batch item ("[2].gender") or a group member ("members[0].gender") is judged by its own field.
  const leaf = field.replace(/^\[\d+\]\.?/, '');
  const member = /^members\[\d+\]\./.test(leaf);
  const own = leaf.replace(/^members\[\d+\]\./, '');
  const unknownCode = err.extra?.allowed_values !== undefined;
  if (err.code === 'ERR_VAL_UNKNOWN_FIELD') return 'G2P-REQ-013';
  if (err.code === 'ERR_VAL_MISSING_FIELD') return 'G2P-REQ-002';
  if (err.code === 'ERR_CONFLICT' && /^ids\b/.test(own)) return 'G2P-REQ-012';
  if (s === 409 || s === 412 || s === 428) return 'G2P-REQ-017';
  if (own === 'kind' || own.startsWith('kind[')) {
    if (!unknownCode) return 'G2P-REQ-001';
    return member ? 'G2P-REQ-004' : 'G2P-REQ-003';
  }
  if (leaf === 'members') return 'G2P-REQ-004';
  if (own === 'gender') return 'G2P-REQ-008';
  if (/^ids\b/.test(own) || own === 'id_type') return 'G2P-REQ-005';
  if (DATE_FIELD.test(own)) return 'G2P-REQ-011';
  if (/^phone_numbers\b/.test(own)) return 'G2P-REQ-006';
  if (own === 'email') return 'G2P-REQ-007';
  if (own === 'name') return 'G2P-REQ-002';
  return 'G2P-REQ-013';
}

/** The G2P body of a refusal (also written raw, for errors that happen before routing). */
export function g2pErrorBody(err: AppError, correlationId: string) {
  const code = g2pCodeOf(err);
  const first = err.errors?.[0];
  const more = (err.errors?.length ?? 0) > 1 ? ` (and ${err.errors!.length - 1} more)` : '';
  const description =
    code === 'G2P-SRV-001'
      ? `an internal error occurred; quote the correlation_id ${correlationId}`
      : first
        ? `${first.field}: ${first.message}${more}`
        : err.message;
  return {
    error_code: code,
    error_message: G2P_ERRORS[code],
    error_description: description,
    code: err.code,
    correlation_id: correlationId,
  };
}

/** A refusal rendered the G2P way, with the HTTP status and headers Hearth gives it. */
export function sendG2pError(request: FastifyRequest, reply: FastifyReply, err: AppError): FastifyReply {
  if (err.headers) reply.headers(err.headers);
  return reply
    .code(err.status)
    .type('application/json; charset=utf-8')
    .serializer(JSON.stringify)
    .send(g2pErrorBody(err, request.id));
}

/** An error whose G2P field names replace the domain's (the rest is kept). */
export function renamed(err: unknown, rename: (field: string) => string): unknown {
  if (!(err instanceof AppError) || !err.errors?.length) return err;
  const errors = err.errors.map((e) => ({ ...e, field: rename(e.field) }));
  return new AppError(err.code, `${errors[0].field}: ${errors[0].message}`, {
    status: err.status,
    headers: err.headers,
    extra: err.extra,
    errors,
  });
}
