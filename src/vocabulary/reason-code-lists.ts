// Data only, no imports: the console bundles this file too, so the two lists never drift apart.

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
