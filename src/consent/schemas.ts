import { type Static, Type } from 'typebox';
import { Body, DateTime, Nullable, PageQuery, Uuid } from '../http/schemas.js';
import { CONSENT_REJECTION_REASONS, CONSENT_WITHDRAWAL_REASONS } from '../vocabulary/reason-codes.js';

export const CONSENT_STATUSES = ['pending', 'active', 'rejected', 'expired', 'withdrawn'] as const;
const CaptureMode = Type.Union([Type.Literal('online'), Type.Literal('offline')]);
const Evidence = Type.Array(Uuid(), {
  maxItems: 20,
  uniqueItems: true,
  description: 'attachment ids (signature, photo, recording)',
});

export const ConsentCapture = Body({
  vertical_id: Uuid(),
  active_from: DateTime(),
  active_until: Type.Optional(DateTime()),
  capture_mode: CaptureMode,
  evidence_attachment_ids: Type.Optional(Evidence),
  verification_document_attachment_id: Type.Optional(Uuid('scan of the identity document')),
  captured_by: Type.String({ minLength: 1, maxLength: 200 }),
});
export type ConsentCapture = Static<typeof ConsentCapture>;

export const ConsentRenew = Body({
  active_from: DateTime(),
  active_until: Type.Optional(DateTime()),
  capture_mode: CaptureMode,
  evidence_attachment_ids: Type.Optional(Evidence),
  verification_document_attachment_id: Type.Optional(Uuid()),
  captured_by: Type.String({ minLength: 1, maxLength: 200 }),
});
export type ConsentRenew = Static<typeof ConsentRenew>;

export const ConsentVerify = Body({
  verified_by: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  verified_at: Type.Optional(DateTime()),
});
export type ConsentVerify = Static<typeof ConsentVerify>;

export const ConsentReject = Body({
  reason_code: Type.String({ enum: [...CONSENT_REJECTION_REASONS] }),
  reason_text: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  rejected_by: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  rejected_at: Type.Optional(DateTime()),
});
export type ConsentReject = Static<typeof ConsentReject>;

export const ConsentWithdraw = Body({
  reason_code: Type.String({ enum: [...CONSENT_WITHDRAWAL_REASONS] }),
  reason_text: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
});
export type ConsentWithdraw = Static<typeof ConsentWithdraw>;

export const ConsentExpire = Body({
  system_reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
});
export type ConsentExpire = Static<typeof ConsentExpire>;

export const Consent = Type.Object({
  consent_id: Uuid(),
  person_id: Uuid(),
  vertical_id: Uuid(),
  status: Type.String({ enum: [...CONSENT_STATUSES] }),
  active_from: DateTime(),
  active_until: Nullable(DateTime()),
  grace_until: Nullable(DateTime()),
  capture_mode: Type.String(),
  captured_by: Type.String(),
  captured_at: DateTime(),
  verified_by: Nullable(Type.String()),
  verified_at: Nullable(DateTime()),
  rejected_by: Nullable(Type.String()),
  rejected_at: Nullable(DateTime()),
  withdrawn_at: Nullable(DateTime()),
  expired_at: Nullable(DateTime()),
  effective_at: Type.Optional(DateTime()),
  reason_code: Nullable(Type.String()),
  version_id: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type Consent = Static<typeof Consent>;

export const EvidenceOut = Type.Object({
  evidence_attachment_ids: Type.Array(Type.String()),
  verification_document_attachment_id: Nullable(Type.String()),
  masked: Type.Boolean({ description: 'true unless the caller holds sensitive:read' }),
  masked_fields: Type.Array(Type.String(), { description: 'the fields shown masked' }),
});

export const ConsentVersionSummary = Type.Object({
  version_id: Type.Integer(),
  status: Type.String(),
  active_from: DateTime(),
  active_until: Nullable(DateTime()),
  captured_at: DateTime(),
  change: Type.String(),
  changed_at: DateTime(),
  changed_by: Nullable(Type.String()),
  reason_code: Nullable(Type.String()),
});

export const ConsentVersionDetail = Type.Object({
  consent_id: Uuid(),
  version_id: Type.Integer(),
  status: Type.String(),
  active_from: DateTime(),
  active_until: Nullable(DateTime()),
  grace_until: Nullable(DateTime()),
  capture_mode: Type.String(),
  evidence_attachment_ids: Type.Array(Type.String()),
  verification_document_attachment_id: Nullable(Type.String()),
  captured_by: Type.String(),
  captured_at: DateTime(),
  change: Type.String(),
  changed_at: DateTime(),
  changed_by: Nullable(Type.String()),
  reason_code: Nullable(Type.String()),
  reason_text: Nullable(Type.String()),
});

export const Attachment = Type.Object({
  attachment_id: Uuid(),
  sha256: Type.String(),
  size: Type.Integer(),
  content_type: Type.String(),
  filename: Nullable(Type.String()),
  created_at: DateTime(),
});
export type Attachment = Static<typeof Attachment>;

export const ConsentQueueQuery = Type.Object({
  ...PageQuery,
  status: Type.Optional(
    Type.String({ enum: [...CONSENT_STATUSES], description: 'e.g. pending: awaiting verification' }),
  ),
  vertical_id: Type.Optional(Uuid()),
  expiring_before: Type.Optional(
    DateTime('active consents whose period ends before this time (renewal work list)'),
  ),
  in_grace: Type.Optional(
    Type.Boolean({ description: 'consents past their end and still inside their grace period' }),
  ),
});
export type ConsentQueueQuery = Static<typeof ConsentQueueQuery>;
