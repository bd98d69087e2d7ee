import { AppError } from '../../http/errors.js';
import { identityKey } from '../../registry/normalize.js';
import { rule } from '../../registry/person-input.js';
import type {
  Address,
  ContactInput,
  IdentityInput,
  PersonCreate,
  PersonPatch,
  PersonView,
} from '../../registry/person-schemas.js';
import { ISO_5218, namespaceOf } from '../../vocabulary/seed.js';
import {
  GROUP_ID_SYSTEM,
  identityTypeOf,
  PERSON_ID_SYSTEM,
  ROLE_SYSTEM,
  referenceTo,
} from './identifiers.js';
import type {
  AddressIn,
  CodeableConceptIn,
  ContactPointIn,
  IdentifierIn,
  IndividualIn,
  IndividualOut,
} from './schemas.js';

/** Code → display of the vocabularies an Individual shows. */
export interface Labels {
  gender: Map<string, string>;
  role: Map<string, string>;
}

/** An open (or ended) household membership of the person, as Individual.groupMembership shows it. */
export interface GroupLink {
  household_id: string;
  relationship_type: string;
  effective_from: string;
  effective_until: string | null;
}

const GENDER_SYSTEMS = new Set([ISO_5218, namespaceOf('gender')]);

export const coding = (system: string, code: string, labels: Map<string, string>) => {
  const display = labels.get(code);
  return { coding: [{ system, code, ...(display ? { display } : {}) }] };
};

export function addressOut(a: Address): NonNullable<IndividualOut['address']>[number] {
  const out: Record<string, unknown> = {};
  if (a.text) out.text = a.text;
  if (a.line?.length) out.line = a.line;
  if (a.city) out.city = a.city;
  if (a.district) out.district = a.district;
  if (a.region) out.state = a.region;
  if (a.postal_code) out.postalCode = a.postal_code;
  if (a.country) out.country = a.country;
  return out;
}

/** V2 address → native address; `type` and `use` are not kept (docs/decisions/0052-v2-mapping.md). */
export function addressIn(list: AddressIn[] | null | undefined): Address | null {
  const a = list?.[0];
  if (!a) return null;
  const out: Address = {};
  if (a.text) out.text = a.text;
  if (a.line?.length) out.line = a.line;
  if (a.city) out.city = a.city;
  if (a.district) out.district = a.district;
  if (a.state) out.region = a.state;
  if (a.postalCode) out.postal_code = a.postalCode;
  if (a.country) out.country = a.country;
  return Object.keys(out).length > 0 ? out : null;
}

const identitiesMasked = (v: PersonView) =>
  v.masked_fields.some((f) => f === 'identities' || f === 'identities.identity_number');

export function toIndividual(v: PersonView, groups: readonly GroupLink[], labels: Labels): IndividualOut {
  const identifier: IndividualOut['identifier'] = [{ system: PERSON_ID_SYSTEM, value: v.person_id }];
  if (!identitiesMasked(v)) {
    for (const i of v.identities) {
      identifier.push({
        system: i.system,
        value: i.identity_number,
        ...(i.expiry_date ? { period: { end: i.expiry_date } } : {}),
      });
    }
  }
  const name: NonNullable<IndividualOut['name']> = {};
  if (v.full_name !== null) name.text = v.full_name;
  if (v.family_name) name.family = v.family_name;
  if (v.given_name) name.given = [v.given_name];
  if (v.additional_name) name.middle = v.additional_name;
  const out: IndividualOut = {
    type: 'Individual',
    identifier,
    active: v.status === 'active',
    name,
    meta: metaOf(v),
  };
  if (v.date_of_birth) out.birthDate = v.date_of_birth;
  if (v.birth_date_estimated !== null) out.birthDateEstimated = v.birth_date_estimated;
  if (v.gender) out.gender = coding(ISO_5218, v.gender, labels.gender);
  if (v.contacts.length > 0)
    out.telecom = v.contacts.map((c, i) => ({ system: c.type, value: c.value, rank: i + 1 }));
  if (v.address) out.address = [addressOut(v.address)];
  if (groups.length > 0) {
    out.groupMembership = groups.map((g) => ({
      group: { reference: referenceTo('Group', { system: GROUP_ID_SYSTEM, value: g.household_id }) },
      role: coding(ROLE_SYSTEM, g.relationship_type, labels.role),
      period: { start: g.effective_from, ...(g.effective_until ? { end: g.effective_until } : {}) },
    }));
  }
  if (v.extensions && Object.keys(v.extensions).length > 0) out.extension = v.extensions;
  return out;
}

/** Native person and household fields → the V2 elements that carry them. */
const V2_ELEMENTS: Record<string, string> = {
  full_name: 'name',
  given_name: 'name',
  family_name: 'name',
  additional_name: 'name',
  date_of_birth: 'birthDate',
  birth_date_estimated: 'birthDateEstimated',
  gender: 'gender',
  identities: 'identifier',
  'identities.identity_number': 'identifier',
  contacts: 'telecom',
  address: 'address',
  household_id: 'groupMembership',
  extensions: 'extension',
  provenance: 'meta.source',
  household_name: 'name',
  member_count: 'quantity',
};

const REDACTED = {
  system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
  code: 'REDACTED',
  display: 'redacted',
};

/**
 * meta of a V2 resource. Masking is never silent: the masked elements are listed in `meta.masked`
 * (a documented Hearth extension) with the FHIR security label REDACTED.
 */
export function metaOf(v: {
  version_id: number;
  updated_at: string;
  provenance: { last_update_system: string | null; source_system: string | null } | null;
  masked_fields: readonly string[];
}) {
  const masked = [...new Set(v.masked_fields.map((f) => V2_ELEMENTS[f]).filter((e) => e !== undefined))];
  return {
    versionId: String(v.version_id),
    lastUpdated: v.updated_at,
    source: v.provenance?.last_update_system ?? v.provenance?.source_system ?? null,
    ...(masked.length > 0 ? { security: [REDACTED], masked } : {}),
  };
}

/** The code of a gender CodeableConcept (ISO/IEC 5218); a concept without such a coding is refused. */
export function genderOf(g: CodeableConceptIn | null | undefined): string | null {
  if (!g) return null;
  const c = (g.coding ?? []).find((x) => x.system === undefined || GENDER_SYSTEMS.has(x.system));
  if (!c) throw rule('gender', `needs a coding of system ${ISO_5218} (codes 0, 1, 2, 9)`);
  return c.code;
}

/**
 * Identifiers → native identities. The Hearth id may only be the resource's own; every other
 * system must be an identifier namespace (`urn:hearth:vocab:id-type#<code>`). Status, expiry and
 * description of an identity already stored are kept.
 */
export function identitiesOf(
  identifier: readonly IdentifierIn[],
  own: { personId: string | null; current: PersonView['identities'] },
  field = 'identifier',
): IdentityInput[] {
  const out: IdentityInput[] = [];
  for (const [i, id] of identifier.entries()) {
    if (id.system === PERSON_ID_SYSTEM) {
      if (own.personId && id.value.toLowerCase() === own.personId) continue;
      throw rule(`${field}[${i}].system`, `${PERSON_ID_SYSTEM} identifiers are issued by Hearth`);
    }
    const type = identityTypeOf(id.system);
    if (!type) {
      throw rule(
        `${field}[${i}].system`,
        'is not a known identifier namespace (urn:hearth:vocab:id-type#<code>)',
      );
    }
    const stored = own.current.find(
      (c) => c.identity_type === type && identityKey(c.identity_number) === identityKey(id.value),
    );
    const expiry = id.period?.end ?? stored?.expiry_date ?? undefined;
    out.push({
      identity_type: type,
      identity_number: id.value,
      ...(expiry ? { expiry_date: expiry } : {}),
      ...(stored ? { status: stored.status as IdentityInput['status'] } : {}),
      ...(stored?.description ? { description: stored.description } : {}),
    });
  }
  return out;
}

export function contactsOf(telecom: readonly ContactPointIn[] | null | undefined): ContactInput[] {
  const list = telecom ?? [];
  const ranks = list.map((t) => t.rank ?? Number.MAX_SAFE_INTEGER);
  const primary = ranks.indexOf(Math.min(...ranks));
  return list.map((t, i) => ({
    type: t.system === 'sms' ? 'phone' : t.system,
    value: t.value,
    primary: i === primary,
  }));
}

function givenOf(given: string | string[] | null | undefined): string | null {
  if (given === null || given === undefined) return null;
  const s = Array.isArray(given) ? given.join(' ').trim() : given.trim();
  return s || null;
}

/** The native fields an Individual stands for. */
export function flatOf(
  ind: IndividualIn,
  own: { personId: string | null; current: PersonView['identities'] },
) {
  const n = ind.name ?? null;
  if (n?.prefix) throw rule('name.prefix', 'is not kept by Hearth');
  if (n?.suffix) throw rule('name.suffix', 'is not kept by Hearth');
  const given = givenOf(n?.given);
  const composed = [given, n?.middle, n?.family].filter((x) => x?.trim()).join(' ');
  return {
    full_name: n?.text?.trim() || composed || null,
    given_name: given,
    family_name: n?.family?.trim() || null,
    additional_name: n?.middle?.trim() || null,
    date_of_birth: ind.birthDate ?? null,
    birth_date_estimated: ind.birthDate ? (ind.birthDateEstimated ?? false) : null,
    gender: genderOf(ind.gender),
    identities: identitiesOf(ind.identifier, own),
    contacts: contactsOf(ind.telecom),
    address: addressIn(ind.address),
    extensions: ind.extension ?? null,
  };
}

const sortedKeys = (ids: IdentityInput[]) =>
  JSON.stringify(
    ids
      .map((i) => [
        i.identity_type,
        identityKey(i.identity_number),
        i.expiry_date ?? null,
        i.status ?? 'active',
      ])
      .sort(),
  );

/** A new person from an Individual (POST). */
export function createInputOf(ind: IndividualIn): PersonCreate {
  if (ind.active === false) throw rule('active', 'a new Individual is active');
  if (Array.isArray(ind.groupMembership) && ind.groupMembership.length > 0) {
    throw rule('groupMembership', 'is read-only: add members with Group/{id}/$add-member');
  }
  const f = flatOf(ind, { personId: null, current: [] });
  if (f.identities.length === 0) {
    throw rule('identifier', 'needs at least one identifier whose system is an identifier namespace');
  }
  if (!f.full_name) throw rule('name', 'is required (text, or given and family)');
  const out: PersonCreate = {
    full_name: f.full_name,
    gender: f.gender as string,
    identities: f.identities,
  };
  if (f.gender === null) {
    throw new AppError('ERR_VAL_MISSING_FIELD', 'gender is required', {
      errors: [{ field: 'gender', message: 'is required' }],
    });
  }
  if (f.given_name) out.given_name = f.given_name;
  if (f.family_name) out.family_name = f.family_name;
  if (f.additional_name) out.additional_name = f.additional_name;
  if (f.date_of_birth) {
    out.date_of_birth = f.date_of_birth;
    if (f.birth_date_estimated) out.birth_date_estimated = true;
  }
  if (f.contacts.length > 0) out.contacts = f.contacts;
  if (f.address) out.address = f.address;
  if (f.extensions) out.extensions = f.extensions;
  return out;
}

/**
 * The native patch that turns the Individual the caller sees (`current`) into `target`: only
 * what differs is written. Members absent from a full replacement are cleared, except the
 * read-only ones and `extension`, which stay as they are. Lists the caller only sees masked
 * (identifiers, telecom) cannot be replaced by it: it would remove entries it never saw.
 */
export function patchInputOf(view: PersonView, current: IndividualOut, target: IndividualIn): PersonPatch {
  const own = { personId: view.person_id, current: view.identities };
  const cur = flatOf(current as unknown as IndividualIn, own);
  const next = flatOf(target, own);
  const patch: PersonPatch = {};
  if (next.full_name !== cur.full_name) {
    if (!next.full_name) throw rule('name', 'is required (text, or given and family)');
    patch.full_name = next.full_name;
  }
  if (next.given_name !== cur.given_name) patch.given_name = next.given_name;
  if (next.family_name !== cur.family_name) patch.family_name = next.family_name;
  if (next.additional_name !== cur.additional_name) patch.additional_name = next.additional_name;
  if (next.date_of_birth !== cur.date_of_birth || next.birth_date_estimated !== cur.birth_date_estimated) {
    if (!next.date_of_birth) throw rule('birthDate', 'cannot be removed');
    patch.date_of_birth = next.date_of_birth;
    patch.birth_date_estimated = next.birth_date_estimated ?? false;
  }
  if (next.gender !== cur.gender) {
    if (next.gender === null) throw rule('gender', 'cannot be removed');
    patch.gender = next.gender;
  }
  if (sortedKeys(next.identities) !== sortedKeys(cur.identities)) {
    if (identitiesMasked(view)) {
      throw new AppError(
        'ERR_SEC_FORBIDDEN',
        'identifier: the identifiers of this Individual are masked for this client; it cannot replace them',
      );
    }
    if (next.identities.length === 0) {
      throw rule('identifier', 'needs at least one identifier whose system is an identifier namespace');
    }
    patch.identities = next.identities;
  }
  const contactKey = (c: ContactInput[]) => JSON.stringify(c.map((x) => [x.type, x.value, x.primary]));
  if (contactKey(next.contacts) !== contactKey(cur.contacts)) {
    if (view.masked_fields.includes('contacts')) {
      throw new AppError(
        'ERR_SEC_FORBIDDEN',
        'telecom: the contacts of this Individual are masked for this client; it cannot replace them',
      );
    }
    patch.contacts = next.contacts;
  }
  if (JSON.stringify(next.address) !== JSON.stringify(cur.address)) patch.address = next.address;
  if (
    target.extension !== undefined &&
    JSON.stringify(next.extensions ?? {}) !== JSON.stringify(cur.extensions ?? {})
  ) {
    patch.extensions = next.extensions ?? {};
  }
  if (target.active !== undefined && target.active !== current.active) {
    throw rule('active', 'archive or restore the person with the native API (a reason is required)');
  }
  if (
    target.groupMembership !== undefined &&
    JSON.stringify(target.groupMembership ?? []) !== JSON.stringify(current.groupMembership ?? [])
  ) {
    throw rule(
      'groupMembership',
      'is read-only: change memberships with Group/{id}/$add-member and $remove-member',
    );
  }
  return patch;
}
