import { type Static, Type } from 'typebox';
import { DateTime, Nullable, PageQuery, Uuid } from '../http/schemas.js';

export const AuditEventSchema = Type.Object({
  event_id: Uuid(),
  timestamp: DateTime(),
  tenant_id: Nullable(Uuid()),
  actor_id: Nullable(Type.String({ description: 'client id (for a signed-in person: user:<username>)' })),
  user_id: Nullable(Type.String({ description: 'public id of the signed-in person who acted, if any' })),
  action: Type.String(),
  resource_type: Nullable(Type.String()),
  resource_id: Nullable(Type.String()),
  outcome: Type.String({ enum: ['success', 'failure', 'denied'] }),
  status: Nullable(Type.Integer()),
  correlation_id: Nullable(Type.String()),
  ip: Nullable(Type.String()),
  vertical_id: Nullable(Uuid()),
  program_id: Nullable(Uuid()),
  severity: Type.String({ enum: ['normal', 'elevated'] }),
  details: Nullable(Type.Record(Type.String(), Type.Unknown())),
});
export type AuditEventOut = Static<typeof AuditEventSchema>;

export const AuditQuery = Type.Object(
  {
    ...PageQuery,
    actor: Type.Optional(Type.String({ maxLength: 200, description: 'client id of the actor' })),
    user_id: Type.Optional(Uuid('the signed-in person who acted')),
    resource_type: Type.Optional(Type.String({ maxLength: 100 })),
    resource_id: Type.Optional(Type.String({ maxLength: 500 })),
    action: Type.Optional(Type.String({ maxLength: 200 })),
    outcome: Type.Optional(Type.String({ enum: ['success', 'failure', 'denied'] })),
    since: Type.Optional(DateTime()),
    until: Type.Optional(DateTime()),
  },
  { additionalProperties: false },
);
export type AuditQuery = Static<typeof AuditQuery>;

export const ChainVerification = Type.Object({
  valid: Type.Boolean(),
  checked: Type.Integer(),
  first_break: Nullable(Type.Object({ event_id: Uuid(), timestamp: DateTime(), reason: Type.String() })),
});
