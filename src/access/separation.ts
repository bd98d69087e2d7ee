import type { Actor } from '../auth/principal.js';
import { AppError } from '../http/errors.js';
import type { Reader } from './reader.js';

/**
 * The identity a change is recorded under (`created_by`, `updated_by`, `verified_by` defaults):
 * the API client's id, or `user:<username>` for a person signed in through a session. Every
 * "who did this" comparison goes through here, so it follows when identities change.
 */
export function recordedIdentity(actor: Actor): string {
  return actor.principal.clientId;
}

/** True when any of the recorded identities is the actor's own. */
export function isOwnWork(actor: Actor, recordedBy: readonly (string | null | undefined)[]): boolean {
  const me = recordedIdentity(actor);
  return recordedBy.some((who) => who === me);
}

/**
 * Separation of duties: by default a client or user cannot verify a person, household or consent
 * that it registered or captured itself. The tenant admin may relax it for small teams
 * (`separation_of_duties: false`, PATCH /api/v1/access-policy). ROOT is exempt (audited at
 * elevated severity anyway).
 */
export function assertSeparateDuties(
  reader: Reader,
  actor: Actor,
  what: 'person' | 'household' | 'consent',
  recordedBy: readonly (string | null | undefined)[],
): void {
  if (reader.kind === 'root' || !reader.separationOfDuties) return;
  if (!isOwnWork(actor, recordedBy)) return;
  const verb = what === 'consent' ? 'captured' : 'registered';
  throw new AppError(
    'ERR_SEC_FORBIDDEN',
    `separation of duties: a ${what} you ${verb} yourself must be verified by someone else (a tenant admin may relax this rule)`,
    { extra: { rule: 'separation_of_duties' } },
  );
}
