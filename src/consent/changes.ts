import { auditOf, recordAudit } from '../audit/audit.js';
import type { Actor } from '../auth/principal.js';
import type { Tx } from '../db/database.js';
import { type EventType, emitEvent } from '../events/outbox.js';
import * as repo from './repo.js';
import type { Consent } from './schemas.js';

export const DAY_MS = 86_400_000;
const iso = (d: Date | null) => d?.toISOString() ?? null;

export function consentOut(c: repo.ConsentRow): Consent {
  return {
    consent_id: c.id,
    person_id: c.person_id,
    vertical_id: c.vertical_id,
    status: c.status,
    active_from: c.active_from.toISOString(),
    active_until: iso(c.active_until),
    grace_until: iso(c.grace_until),
    capture_mode: c.capture_mode,
    captured_by: c.captured_by,
    captured_at: c.captured_at.toISOString(),
    verified_by: c.verified_by,
    verified_at: iso(c.verified_at),
    rejected_by: c.rejected_by,
    rejected_at: iso(c.rejected_at),
    withdrawn_at: iso(c.withdrawn_at),
    expired_at: iso(c.expired_at),
    reason_code: c.reason_code,
    version_id: c.version_id,
    created_at: c.created_at.toISOString(),
    updated_at: c.updated_at.toISOString(),
  };
}

export function versionOut(consentId: string, r: repo.ConsentVersionRow) {
  return {
    consent_id: consentId,
    ...r,
    active_from: r.active_from.toISOString(),
    active_until: iso(r.active_until),
    grace_until: iso(r.grace_until),
    captured_at: r.captured_at.toISOString(),
    changed_at: r.changed_at.toISOString(),
  };
}

/**
 * What every consent change leaves behind, in the change's own transaction: a version row (a
 * consent is never overwritten), an audit event and, for changes partners hear of, an outbox event.
 */
export async function recordConsentChange(
  tx: Tx,
  actor: Actor,
  c: repo.ConsentRow,
  change: string,
  event: EventType | null,
  details: Record<string, unknown> = {},
): Promise<void> {
  await repo.insertConsentVersion(tx, c, { change, changedBy: actor.principal.clientId });
  await recordAudit(
    tx,
    actor,
    auditOf(
      actor,
      `consent.${change}`,
      { type: 'consent', id: c.id },
      {
        verticalId: c.vertical_id,
        details: { person_id: c.person_id, status: c.status, version_id: c.version_id, ...details },
      },
    ),
  );
  if (event) {
    await emitEvent(tx, c.tenant_id, {
      type: event,
      resourceType: 'consent',
      resourceId: c.id,
      personId: c.person_id,
      verticalId: c.vertical_id,
      changedFields: ['status'],
      data: { status: c.status, person_id: c.person_id, grace_until: iso(c.grace_until) },
    });
  }
}
