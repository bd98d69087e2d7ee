import { AppError } from '../http/errors.js';

import {
  CONSENT_REJECTION_REASONS,
  CONSENT_WITHDRAWAL_REASONS,
  GENERIC_REASON_CODES,
} from './reason-code-lists.js';

export { CONSENT_REJECTION_REASONS, CONSENT_WITHDRAWAL_REASONS, GENERIC_REASON_CODES };

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
