import type { Actor } from '../auth/principal.js';
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { NIL_UUID } from '../lib/ids.js';
import { ageOn } from '../registry/normalize.js';
import type { PersonRow } from '../registry/person-repo.js';
import type { PersonView } from '../registry/person-schemas.js';
import { identitySystem } from '../vocabulary/seed.js';
import { type Classification, classificationOf, maskValue } from './classification.js';
import { type ConsentState, consentStates } from './consent-state.js';

/**
 * Why person data is being read: grace periods allow reads and searches, never exports (pulls,
 * webhook payloads, bulk extracts) or writes. 'create' is the answer to the caller's own create.
 */
export type Purpose = 'read' | 'search' | 'export' | 'write' | 'create';

export interface PersonDecision {
  /** False: the caller must get the same answer as for a person that does not exist. */
  visible: boolean;
  consent: ConsentState;
  /** 'basic': only basic fields; 'full': personal fields too. */
  level: 'basic' | 'full';
  /** Sensitive fields unmasked (sensitive:read, or ROOT). */
  sensitive: boolean;
  /** Where personView reports what it masked (the operation's audit record). */
  audit?: Actor['audit'];
}

export type Overrides = Record<string, Classification> | undefined;

const ROOT_DECISION: PersonDecision = { visible: true, consent: 'active', level: 'full', sensitive: true };

function consentAllows(state: ConsentState, purpose: Purpose): boolean {
  return state === 'active' || (state === 'grace' && (purpose === 'read' || purpose === 'search'));
}

/** The decision for one person, given the consent state among the caller's verticals. */
export function decide(actor: Actor, state: ConsentState, purpose: Purpose): PersonDecision {
  const d = decideFor(actor, state, purpose);
  return d === ROOT_DECISION ? d : { ...d, audit: actor.audit };
}

function decideFor(actor: Actor, state: ConsentState, purpose: Purpose): PersonDecision {
  const p = actor.principal;
  if (p.isRoot) return ROOT_DECISION;
  const consented = consentAllows(state, purpose);
  const sensitive = p.scopes.has('sensitive:read');
  if (p.consentBound) {
    if (consented) return { visible: true, consent: state, level: 'full', sensitive };
    // A consent-bound caller that has just registered a person gets its basic fields back (what it
    // sent, plus the new ids); it reads nothing more until a consent exists.
    if (purpose === 'create') return { visible: true, consent: state, level: 'basic', sensitive: false };
    return { visible: false, consent: state, level: 'basic', sensitive: false };
  }
  // Tenant staff register, verify and capture consent for people who have none yet: they see
  // the person, with everything beyond the basic fields masked until consent exists.
  return consented
    ? { visible: true, consent: state, level: 'full', sensitive }
    : { visible: true, consent: state, level: 'basic', sensitive: false };
}

/** Consent states of persons for the actor: among its verticals, or any vertical when unrestricted. */
export async function decideMany(
  q: Queryable,
  actor: Actor,
  tenantId: string,
  personIds: readonly string[],
  purpose: Purpose,
): Promise<Map<string, PersonDecision>> {
  const out = new Map<string, PersonDecision>();
  if (actor.principal.isRoot) {
    for (const id of personIds) out.set(id, ROOT_DECISION);
    return out;
  }
  const verticals = actor.principal.verticalIds.length > 0 ? actor.principal.verticalIds : null;
  const states = await consentStates(q, tenantId, personIds, verticals);
  for (const id of personIds) out.set(id, decide(actor, states.get(id) ?? 'none', purpose));
  return out;
}

function visibleAt(cls: Classification, d: PersonDecision): boolean {
  return cls === 'basic' || (d.level === 'full' && (cls === 'personal' || d.sensitive));
}

/**
 * The one way a person leaves the service: every field passes its classification. Hidden fields
 * are null (lists empty) or partly masked, and always named in masked_fields.
 */
export function personView(row: PersonRow, d: PersonDecision, overrides: Overrides): PersonView {
  const masked: string[] = [];
  const show = <T>(field: string, value: T, hidden: T): T => {
    if (visibleAt(classificationOf(field, overrides), d)) return value;
    if (value !== null && !(Array.isArray(value) && value.length === 0)) masked.push(field);
    return hidden;
  };
  const numbersVisible = visibleAt(classificationOf('identities.identity_number', overrides), d);
  const identities = show(
    'identities',
    row.identities.map((i) => {
      const number = numbersVisible ? i.identity_number : maskValue(i.identity_number);
      return {
        identity_type: i.identity_type,
        identity_number: number,
        system: identitySystem(i.identity_type),
        expiry_date: i.expiry_date,
        status: i.status,
        description: i.description,
      };
    }),
    [],
  );
  if (!numbersVisible && identities.length > 0) masked.push('identities.identity_number');
  const contactsVisible = visibleAt(classificationOf('contacts', overrides), d);
  const contacts = row.contacts.map((c) => ({ ...c, value: contactsVisible ? c.value : maskValue(c.value) }));
  if (!contactsVisible && contacts.length > 0) masked.push('contacts');
  const estimated = row.birth_date_estimated && row.date_of_birth ? ageOn(row.date_of_birth) : null;
  return {
    person_id: row.id,
    system_guid: row.system_guid,
    full_name: row.full_name,
    given_name: show('given_name', row.given_name, null),
    family_name: show('family_name', row.family_name, null),
    additional_name: show('additional_name', row.additional_name, null),
    date_of_birth: show('date_of_birth', row.date_of_birth, null),
    birth_date_estimated: show('birth_date_estimated', row.birth_date_estimated, null),
    age_estimate: show('age_estimate', estimated, null),
    gender: show('gender', row.gender, null),
    identities,
    contacts: d.level === 'full' ? contacts : show('contacts', contacts, []),
    birth_place: show('birth_place', row.birth_place, null),
    address: show('address', row.address, null),
    geo_id: show('geo_id', row.geo_id, null),
    household_id: show('household_id', row.household_id, null),
    extensions: show('extensions', row.extensions, null),
    verification_status: row.verification_status,
    verified_by: show('verified_by', row.verified_by, null),
    verified_at: show('verified_at', row.verified_at?.toISOString() ?? null, null),
    status: row.status,
    archived_at: show('archived_at', row.archived_at?.toISOString() ?? null, null),
    version_id: row.version_id,
    created_at: row.created_at.toISOString(),
    updated_at: row.updated_at.toISOString(),
    provenance: show(
      'provenance',
      {
        created_by: row.created_by,
        source_system: row.source_system,
        collection_method: row.collection_method,
        recorded_at: row.created_at.toISOString(),
        updated_by: row.updated_by,
        last_update_system: row.last_update_system,
      },
      null,
    ),
    consent_status: d.consent,
    masked_fields: noteMasking(d, [...new Set(masked)]),
  };
}

/** Reports a masking decision to the operation's audit record (the request's audit event). */
function noteMasking(d: PersonDecision, fields: string[]): string[] {
  if (fields.length > 0 && d.audit) {
    d.audit.masked ??= new Set();
    for (const f of fields) d.audit.masked.add(f);
    d.audit.maskedPersons = (d.audit.maskedPersons ?? 0) + 1;
  }
  return fields;
}

/** A single person for the actor, or the same 404 a missing person gets. */
export async function readablePerson(
  q: Queryable,
  actor: Actor,
  tenantId: string,
  row: PersonRow | null,
  purpose: Purpose,
): Promise<PersonDecision> {
  if (!row) {
    // A consent-bound caller must not tell a missing person from a hidden one, by body or by
    // timing: the missing case runs the same consent query before the same 404.
    if (actor.principal.consentBound && !actor.principal.isRoot) {
      await consentStates(q, tenantId, [NIL_UUID], null);
    }
    throw notFound('person');
  }
  const d = (await decideMany(q, actor, tenantId, [row.id], purpose)).get(row.id)!;
  if (!d.visible) throw notFound('person');
  return d;
}

/**
 * Search criteria must not become an oracle: a criterion on a field the caller may only see
 * masked is refused.
 */
export function assertSearchable(actor: Actor, field: string, overrides: Overrides): void {
  if (actor.principal.isRoot) return;
  if (classificationOf(field, overrides) === 'sensitive' && !actor.principal.scopes.has('sensitive:read')) {
    throw new AppError('ERR_SEC_FORBIDDEN', `searching by ${field} needs the sensitive:read scope`, {
      extra: { required_scope: 'sensitive:read' },
    });
  }
}
