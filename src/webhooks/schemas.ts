import { type Static, Type } from 'typebox';
import { EVENT_TYPES } from '../events/outbox.js';
import { Body, DateTime, Nullable, PageQuery, ReasonFields, Uuid } from '../http/schemas.js';

export const WEBHOOK_STATUSES = ['active', 'disabled'] as const;
export type WebhookStatus = (typeof WEBHOOK_STATUSES)[number];

/**
 * waiting: queued behind an earlier delivery about the same resource; pending: due or backing
 * off; succeeded: a 2xx came back; failed: attempts used up (dead letter); held: not sent because
 * the webhook was disabled or its integration could not receive (kept, may be redelivered).
 */
export const DELIVERY_STATUSES = ['waiting', 'pending', 'succeeded', 'failed', 'held'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

const EventTypeSchema = Type.Enum(EVENT_TYPES, {
  description: 'an event type (docs/decisions/0043-webhook-payloads.md)',
});

const TargetUrl = Type.String({
  minLength: 8,
  maxLength: 2048,
  description: 'https URL that receives POSTed events; loopback, private and link-local hosts are refused',
  examples: ['https://partner.example.org/hearth/events'],
});

const EventTypes = Type.Array(EventTypeSchema, {
  minItems: 1,
  maxItems: EVENT_TYPES.length,
  uniqueItems: true,
});

export const Webhook = Type.Object({
  webhook_id: Uuid(),
  integration_id: Uuid(),
  contract_id: Nullable(Uuid('contract whose approved fields (with consent) are added to person events')),
  target_url: Type.String(),
  event_types: Type.Array(Type.String()),
  active_from: DateTime(),
  active_until: Nullable(DateTime()),
  status: Type.Enum(WEBHOOK_STATUSES),
  public_key_id: Type.String({ description: 'id of the key that signs deliveries (a JWK kid)' }),
  rotated_at: Nullable(DateTime()),
  disabled_at: Nullable(DateTime()),
  disable_reason_code: Nullable(Type.String()),
  version_id: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type Webhook = Static<typeof Webhook>;

export const WebhookCreate = Body({
  target_url: TargetUrl,
  event_types: EventTypes,
  active_from: DateTime('deliveries start for events from this time'),
  active_until: Type.Optional(Nullable(DateTime('no deliveries for events from this time'))),
  contract_id: Type.Optional(
    Nullable(Uuid('a contract of the integration: its person fields are sent when consent allows')),
  ),
});
export type WebhookCreate = Static<typeof WebhookCreate>;

export const WebhookPatch = Body({
  target_url: Type.Optional(TargetUrl),
  event_types: Type.Optional(EventTypes),
  active_until: Type.Optional(Nullable(DateTime())),
  contract_id: Type.Optional(Nullable(Uuid())),
});
export type WebhookPatch = Static<typeof WebhookPatch>;

export const WebhookReasonBody = Body({ ...ReasonFields });
export type WebhookReasonBody = Static<typeof WebhookReasonBody>;

export const KeyRotated = Type.Object({
  webhook_id: Uuid(),
  public_key_id: Type.String({ description: 'the new signing key' }),
  rotated_at: DateTime(),
  previous_public_key_id: Type.String(),
  previous_key_expires_at: DateTime('until then the previous key stays published and co-signs deliveries'),
});
export type KeyRotated = Static<typeof KeyRotated>;

export const WebhookParams = Type.Object({ integration_id: Uuid(), webhook_id: Uuid() });
export const DeliveryParams = Type.Object({
  integration_id: Uuid(),
  webhook_id: Uuid(),
  delivery_id: Uuid(),
});
export const KeyParams = Type.Object({
  public_key_id: Type.String({ minLength: 4, maxLength: 64, pattern: '^[A-Za-z0-9_-]+$' }),
});

export const WebhookListQuery = Type.Object({
  status: Type.Optional(Type.Enum(WEBHOOK_STATUSES)),
  ...PageQuery,
});
export type WebhookListQuery = Static<typeof WebhookListQuery>;

export const DeliveryListQuery = Type.Object({
  status: Type.Optional(Type.Enum(DELIVERY_STATUSES)),
  event_id: Type.Optional(Uuid()),
  ...PageQuery,
});
export type DeliveryListQuery = Static<typeof DeliveryListQuery>;

export const DeliveryAttempt = Type.Object({
  attempt: Type.Integer(),
  attempted_at: DateTime(),
  duration_ms: Type.Integer(),
  status_code: Nullable(Type.Integer()),
  error: Nullable(Type.String()),
  response_excerpt: Nullable(Type.String({ description: 'first 1 KiB of the answer' })),
  signed_with: Type.Array(Type.String(), { description: 'public_key_id of each signature sent' }),
});
export type DeliveryAttempt = Static<typeof DeliveryAttempt>;

export const Delivery = Type.Object({
  delivery_id: Uuid(),
  webhook_id: Uuid(),
  event_id: Uuid('also the webhook-id header: receivers deduplicate on it'),
  event_type: Type.String(),
  resource_id: Uuid(),
  status: Type.Enum(DELIVERY_STATUSES),
  attempts: Type.Integer(),
  next_attempt_at: Nullable(DateTime()),
  last_status_code: Nullable(Type.Integer()),
  last_error: Nullable(Type.String()),
  redeliveries: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
  completed_at: Nullable(DateTime()),
  attempt_log: Type.Array(DeliveryAttempt),
});
export type Delivery = Static<typeof Delivery>;

export const PublicJwkSchema = Type.Object({
  kty: Type.Literal('OKP'),
  crv: Type.Literal('Ed25519'),
  x: Type.String(),
  kid: Type.String(),
  alg: Type.Literal('EdDSA'),
  use: Type.Literal('sig'),
});

export const PublicKeySet = Type.Object({ keys: Type.Array(PublicJwkSchema) });
