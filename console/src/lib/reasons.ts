// The API's reason-code lists (src/vocabulary/reason-codes.ts); the API refuses any other code.
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
