import type { Actor } from '../auth/principal.js';
import type { Queryable } from '../db/database.js';
import { AppError, notFound } from '../http/errors.js';
import { NIL_UUID } from '../lib/ids.js';
import { type Classification, classificationOf, type Overrides, RECORD_KEYS } from './classification.js';
import { type ConsentState, consentStates } from './consent-state.js';
import { type Reader, readerOf } from './reader.js';

/**
 * Why person data is being read: grace periods allow reads and searches, never exports (pulls,
 * webhook payloads, bulk extracts) or writes. 'create' is the answer to the caller's own create.
 */
export type Purpose = 'read' | 'search' | 'export' | 'write' | 'create';

/** What a decision lets the reader see of a person's fields. */
export type Grant =
  | { kind: 'all' }
  | { kind: 'classes'; classes: ReadonlySet<Classification>; overrides: Overrides }
  | { kind: 'fields'; fields: ReadonlySet<string> };

/**
 * Why the reader sees what it sees: ROOT; a staff member during registration (no consent of its
 * verticals decided yet), under consent, or after consent lapsed (basic fields); a third party
 * under consent (its contract's fields) or for its own create (basic fields).
 */
export type Basis = 'root' | 'registration' | 'consent' | 'lapsed' | 'contract' | 'own-create' | 'hidden';

export interface PersonDecision {
  /** False: the caller must get the same answer as for a person that does not exist. */
  visible: boolean;
  consent: ConsentState;
  basis: Basis;
  grant: Grant;
  /** Where projections report what they masked (the operation's audit record). */
  audit?: Actor['audit'];
}

const ROOT_DECISION: PersonDecision = {
  visible: true,
  consent: 'active',
  basis: 'root',
  grant: { kind: 'all' },
};
const BASIC = new Set<Classification>(['basic']);

function consentAllows(state: ConsentState, purpose: Purpose): boolean {
  return state === 'active' || (state === 'grace' && (purpose === 'read' || purpose === 'search'));
}

/** No consent of the reader's verticals decided yet: the person is being registered. */
function inRegistration(state: ConsentState): boolean {
  return state === 'none' || state === 'pending';
}

function classesAt(reader: Reader, stage: 'registration' | 'consent'): Set<Classification> {
  const out = new Set<Classification>(['basic']);
  for (const cls of ['personal', 'sensitive'] as const) {
    const at = reader.staff[cls];
    if (at === 'registration' || (at === 'consent' && stage === 'consent')) out.add(cls);
  }
  return out;
}

/** Fields a third party sees: its contracts' field_list, or the basic fields without a contract. */
function thirdPartyGrant(reader: Reader): Grant {
  return reader.contractFields
    ? { kind: 'fields', fields: reader.contractFields }
    : { kind: 'classes', classes: BASIC, overrides: reader.overrides };
}

/** The decision for one person, given the consent state among the reader's verticals. */
export function decide(
  reader: Reader,
  state: ConsentState,
  purpose: Purpose,
  audit?: Actor['audit'],
): PersonDecision {
  if (reader.kind === 'root') return ROOT_DECISION;
  const consented = consentAllows(state, purpose);
  const classes = (c: ReadonlySet<Classification>): Grant => ({
    kind: 'classes',
    classes: c,
    overrides: reader.overrides,
  });
  let d: PersonDecision;
  if (reader.kind === 'third_party') {
    if (consented) d = { visible: true, consent: state, basis: 'contract', grant: thirdPartyGrant(reader) };
    // A third party that has just registered a person gets its basic fields back (what it sent,
    // plus the new ids); it reads nothing more until a consent exists.
    else if (purpose === 'create')
      d = { visible: true, consent: state, basis: 'own-create', grant: classes(BASIC) };
    else d = { visible: false, consent: state, basis: 'hidden', grant: classes(BASIC) };
  } else if (consented) {
    d = { visible: true, consent: state, basis: 'consent', grant: classes(classesAt(reader, 'consent')) };
  } else if (inRegistration(state)) {
    d = {
      visible: true,
      consent: state,
      basis: 'registration',
      grant: classes(classesAt(reader, 'registration')),
    };
  } else {
    d = { visible: true, consent: state, basis: 'lapsed', grant: classes(BASIC) };
  }
  return audit ? { ...d, audit } : d;
}

/**
 * decide() for persons whose consent state among `reader.verticals` was read with them (a pull's
 * one query per chunk, stateOfRank): every person is decided, and persons in the same state share
 * one decision object instead of one per person.
 */
export function decider(
  reader: Reader,
  purpose: Purpose,
  audit?: Actor['audit'],
): (state: ConsentState) => PersonDecision {
  const byState = new Map<ConsentState, PersonDecision>();
  return (state) => {
    let d = byState.get(state);
    if (!d) {
      d = decide(reader, state, purpose, audit);
      byState.set(state, d);
    }
    return d;
  };
}

/** Decisions on persons for the actor: consent among its verticals, or any vertical when unrestricted. */
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
  const reader = await readerOf(q, actor, tenantId);
  const states = await consentStates(q, tenantId, personIds, reader.verticals);
  for (const id of personIds) out.set(id, decide(reader, states.get(id) ?? 'none', purpose, actor.audit));
  return out;
}

/**
 * The one field-visibility predicate: may the reader see this field of the person unmasked?
 * Sub-fields (`identities.identity_number`) follow their own classification for staff; a
 * contract naming the parent (`identities`) shows them. Household fields are `household.<f>`.
 */
export function sees(d: PersonDecision, field: string): boolean {
  const g = d.grant;
  if (g.kind === 'all') return true;
  if (g.kind === 'classes') return g.classes.has(classificationOf(field, g.overrides));
  if (RECORD_KEYS.has(field) || g.fields.has(field)) return true;
  if (field === 'position') return g.fields.has('household.geo_lat') && g.fields.has('household.geo_lon');
  const dot = field.indexOf('.');
  return dot > 0 && field.slice(0, dot) !== 'household' && g.fields.has(field.slice(0, dot));
}

/** A hit is kept only when the reader may see the person and every field it matched on. */
export function mayMatch(d: PersonDecision | undefined, matched: Iterable<string>): boolean {
  if (!d?.visible) return false;
  for (const field of matched) if (!sees(d, field)) return false;
  return true;
}

/** Reports a masking decision to the operation's audit record (the request's audit event). */
export function noteMasking(d: PersonDecision, fields: string[]): string[] {
  if (fields.length > 0 && d.audit) {
    d.audit.masked ??= new Set();
    for (const f of fields) d.audit.masked.add(f);
    d.audit.maskedPersons = (d.audit.maskedPersons ?? 0) + 1;
  }
  return fields;
}

/**
 * Reports sensitive fields a projection showed unmasked to a non-ROOT reader: the request's
 * audit event names them (`details.sensitive_read`). Only non-empty values count.
 */
export function noteSensitiveRead(d: PersonDecision, shown: string[]): void {
  if (!d.audit || d.basis === 'root') return;
  const overrides = d.grant.kind === 'classes' ? d.grant.overrides : undefined;
  const fields = shown.filter((f) => classificationOf(f, overrides) === 'sensitive');
  if (fields.length === 0) return;
  d.audit.sensitive ??= new Set();
  for (const f of fields) d.audit.sensitive.add(f);
  d.audit.sensitivePersons = (d.audit.sensitivePersons ?? 0) + 1;
}

/** A single person for the actor, or the same 404 a missing person gets. */
export async function readablePerson(
  q: Queryable,
  actor: Actor,
  tenantId: string,
  row: { id: string } | null,
  purpose: Purpose,
): Promise<PersonDecision> {
  if (!row) {
    // A consent-bound caller must not tell a missing person from a hidden one, by body or by
    // timing: the missing case runs the same consent query before the same 404.
    if (actor.principal.consentBound && !actor.principal.isRoot) {
      await readerOf(q, actor, tenantId);
      await consentStates(q, tenantId, [NIL_UUID], null);
    }
    throw notFound('person');
  }
  const d = (await decideMany(q, actor, tenantId, [row.id], purpose)).get(row.id)!;
  if (!d.visible) throw notFound('person');
  return d;
}

/**
 * How a search criterion uses a field: `identifier` — an exact match on an identifier the
 * caller already holds (national id, phone, `system|value`): it reveals nothing the caller did
 * not send, so any principal that may read persons may use it, and the result still passes the
 * decision; `match` — any other criterion (fuzzy, prefix, ranges, exact values of attributes):
 * refused on a field the reader can only ever see masked, and a row matches only when the
 * reader sees that field of that person (mayMatch / visibleSql).
 */
export type CriterionUse = 'identifier' | 'match';

/** Could the reader ever see this field unmasked, on some person? */
export function mayEverSee(reader: Reader, field: string): boolean {
  if (reader.kind === 'root') return true;
  if (reader.kind === 'third_party') return sees(decide(reader, 'active', 'read'), field);
  const cls = classificationOf(field, reader.overrides);
  return cls === 'basic' || reader.staff[cls] !== 'never';
}

/** Search criteria must not become an oracle (see CriterionUse). */
export function assertSearchable(reader: Reader, field: string, use: CriterionUse = 'match'): void {
  if (use === 'identifier' || mayEverSee(reader, field)) return;
  throw new AppError(
    'ERR_SEC_FORBIDDEN',
    `searching by ${field} is not allowed: that field is masked for this caller`,
    {
      extra: { field },
    },
  );
}
