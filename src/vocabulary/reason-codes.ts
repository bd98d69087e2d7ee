import { AppError } from '../http/errors.js';

/**
 * Generic reason codes for state changes the seeds leave unenumerated (archive, restore,
 * integration, contract and webhook transitions, membership end): one fixed list that always
 * holds OTHER (docs/decisions/0005-reason-codes.md).
 */
export const GENERIC_REASON_CODES = [
  'OTHER',
  'POLICY_VIOLATION',
  'CONTRACT_EXPIRED',
  'PARTNER_REQUEST',
  'SECURITY_INCIDENT',
  'REPLACED',
  'DATA_ERROR',
  'DUPLICATE_RECORD',
  'DECEASED',
  'CREATED_IN_ERROR',
  'MOVED',
  'VERIFIED',
  'ROUTINE_REVIEW',
] as const;

export const CONSENT_REJECTION_REASONS = [
  'IDENTITY_MISMATCH',
  'EVIDENCE_INSUFFICIENT',
  'SCOPE_INVALID',
  'DUPLICATE_ACTIVE',
  'OTHER',
] as const;

export const CONSENT_WITHDRAWAL_REASONS = [
  'USER_REQUEST',
  'CONSENT_EXPIRED',
  'DATA_INACCURATE',
  'LEGAL_REQUIREMENT',
  'DUPLICATE_RECORD',
  'SAFETY_RISK',
  'SYSTEM_ERROR',
  'OTHER',
] as const;

/**
 * Checks a reason code against its list and requires the text when the code is OTHER.
 * `codeField`/`textField` name the request fields in errors (e.g. approval_reason_code).
 */
export function checkReason(
  code: string | undefined,
  text: string | undefined,
  allowed: readonly string[] = GENERIC_REASON_CODES,
  codeField = 'reason_code',
  textField = 'reason_text',
  required = true,
): void {
  if (code === undefined) {
    if (required) {
      throw new AppError('ERR_VAL_MISSING_FIELD', `${codeField} is required`, {
        errors: [{ field: codeField, message: 'is required' }],
      });
    }
    return;
  }
  if (!allowed.includes(code)) {
    throw new AppError('ERR_VAL_INVALID_FORMAT', `${codeField}: must be one of ${allowed.join(', ')}`, {
      errors: [{ field: codeField, message: `must be one of: ${allowed.join(', ')}` }],
    });
  }
  if (code === 'OTHER' && (text === undefined || text.trim() === '')) {
    throw new AppError('ERR_VAL_MISSING_FIELD', `${textField} is required when ${codeField} is OTHER`, {
      errors: [{ field: textField, message: `is required when ${codeField} is OTHER` }],
    });
  }
}
