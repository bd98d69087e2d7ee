import type { Tx } from '../db/database.js';
import { uuidv7 } from '../lib/ids.js';

export const EVENT_TYPES = [
  'person.created',
  'person.updated',
  'person.archived',
  'person.restored',
  'person.verified',
  'household.created',
  'household.updated',
  'household.archived',
  'membership.added',
  'membership.ended',
  'relationship.created',
  'relationship.ended',
  'consent.captured',
  'consent.verified',
  'consent.withdrawn',
  'consent.expired',
  'exchange.completed',
  'integration.status_changed',
  'program.created',
  'program.updated',
  'program.archived',
  'program_membership.created',
  'program_membership.status_changed',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export interface DomainEvent {
  type: EventType;
  resourceType: string;
  resourceId: string;
  personId?: string | null;
  verticalId?: string | null;
  changedFields?: string[];
  /** Ids only: no personal data ever goes into the outbox. */
  data?: Record<string, string | number | boolean | null>;
}

/** Writes the event in the caller's transaction (the tenant's), so it commits with the change. */
export async function emitEvent(tx: Tx, tenantId: string, event: DomainEvent): Promise<string> {
  const eventId = uuidv7();
  await tx.query(
    `INSERT INTO outbox_events (tenant_id, event_id, type, vertical_id, resource_type, resource_id, person_id,
       changed_fields, data)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
    [
      tenantId,
      eventId,
      event.type,
      event.verticalId ?? null,
      event.resourceType,
      event.resourceId,
      event.personId ?? null,
      event.changedFields ?? [],
      JSON.stringify(event.data ?? {}),
    ],
  );
  return eventId;
}
