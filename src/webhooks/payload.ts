import { consentStates } from '../access/consent-state.js';
import { decideMany } from '../access/person-access.js';
import type { Actor } from '../auth/principal.js';
import type { Queryable } from '../db/database.js';
import type { OutboxEvent } from '../events/dispatcher.js';
import { isPersonField } from '../integrations/contract-fields.js';
import { projectPerson } from '../integrations/exchange-project.js';
import { findPerson } from '../registry/person-repo.js';
import { personView } from '../registry/person-view.js';

/** Person fields a contract approved, after consent and masking, at delivery time. */
export interface PersonProjection {
  person: Record<string, unknown>;
  masked_fields: string[];
}

/**
 * The delivered JSON (docs/decisions/0043-webhook-payloads.md), in the Standard Webhooks shape
 * `{type, timestamp, data}` plus the event's identity at the top: ids, the type, when it happened
 * and the names of the changed fields, never their values. `data.person` appears only when the
 * webhook names a contract in force and the person's consent allows export right now.
 */
export function eventBody(event: OutboxEvent, projection: PersonProjection | null): string {
  const occurred = new Date(event.occurred_at).toISOString();
  return JSON.stringify({
    type: event.type,
    timestamp: occurred,
    event_id: event.event_id,
    occurred_at: occurred,
    tenant_id: event.tenant_id,
    vertical_id: event.vertical_id,
    data: {
      resource_type: event.resource_type,
      resource_id: event.resource_id,
      person_id: event.person_id,
      changed_fields: event.changed_fields,
      details: event.data,
      ...(projection ? { person: projection.person, masked_fields: projection.masked_fields } : {}),
    },
  });
}

/**
 * A person as a pull would return it, cut to the contract's person fields: the person is active,
 * holds an active consent in every vertical the contract requires, and passes the one access
 * decision every read takes (purpose export: active consent only, no grace) as the integration's
 * own client (consent-bound, its verticals: the fields of its contracts in force), projected by
 * the pull's projection. Null when nothing may be sent.
 */
export async function projectPersonFor(
  q: Queryable,
  actor: Actor,
  tenantId: string,
  personId: string,
  contract: { field_list: readonly string[]; consent_requirements?: { vertical_ids?: readonly string[] } },
): Promise<PersonProjection | null> {
  const fields = contract.field_list.filter(isPersonField);
  if (fields.length === 0) return null;
  const row = await findPerson(q, tenantId, personId);
  if (row?.status !== 'active') return null;
  for (const vertical of contract.consent_requirements?.vertical_ids ?? []) {
    const state = (await consentStates(q, tenantId, [personId], [vertical])).get(personId);
    if (state !== 'active') return null;
  }
  const decision = (await decideMany(q, actor, tenantId, [personId], 'export')).get(personId);
  if (!decision?.visible || decision.basis === 'own-create' || decision.basis === 'lapsed') return null;
  const { record } = projectPerson(personView(row, decision), fields, null);
  const { masked_fields, ...person } = record;
  return { person: { person_id: row.id, ...person }, masked_fields: masked_fields as string[] };
}
