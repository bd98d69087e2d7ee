import type { HouseholdView } from '../../registry/household-schemas.js';
import type { PersonView } from '../../registry/person-schemas.js';
import { GENDER_TO_SEX, KIND_TO_GROUP_TYPE } from './attributes.js';
import type { GeoName } from './search-repo.js';

/**
 * DCI records (SRPerson, Member, Group of spdci/schemas) built only from views that already went
 * through the consent-and-masking decision (personView, householdView): a field the decision
 * masked is left out, never sent as a masked value (docs/decisions/0064-dci-records.md).
 *
 * What the vocabulary has no property for (a person's birth place and households) goes in
 * `additional_attributes`, a list of Attribute Name/Value pairs (`{name, value}`, values strings):
 * the contract's extension mechanism for records, under the name the vocabulary gives it on
 * Member and Group.
 */

export type DciRecord = Record<string, unknown>;

export const PERSON_ID_TYPE = 'HEARTH_PERSON_ID';
export const GROUP_ID_TYPE = 'HEARTH_GROUP_ID';

/** Attribute Name/Value pair (spdci api-schemas AttributeNameValue). */
export interface NameValue {
  name: string;
  value: string;
}

/**
 * A household the person is a current member of, as the caller may see it: seen through its
 * head's consent, only when the caller may see the person's household (views.ts personHouseholds).
 */
export interface PersonHousehold {
  household_id: string;
  /** Null when the caller may not see it (a contract not naming household.household_name). */
  household_name: string | null;
  /** Active identifiers of the household (Hearth id-type codes). */
  identifiers: readonly { identity_type: string; identity_number: string }[];
}

export interface RecordContext {
  /** Hearth id-type → DCI identifier type (the reverse of HEARTH_DCI_ID_TYPES). */
  dciIdTypes: ReadonlyMap<string, string>;
  povertyPath: readonly [string, string];
}

export function dciIdTypesOf(idTypes: Readonly<Record<string, string>>): Map<string, string> {
  const out = new Map<string, string>();
  for (const [dci, hearth] of Object.entries(idTypes)) if (!out.has(hearth)) out.set(hearth, dci);
  return out;
}

/** Membership role → HL7 relationship code (relationship of the member to the group head). */
const ROLE_TO_RELATIONSHIP: Readonly<Record<string, string>> = {
  spouse: 'SPS',
  child: 'CHILD',
  parent: 'PRN',
  sibling: 'SIB',
  grandchild: 'GRNDCHILD',
  grandparent: 'GRPRN',
  other_relative: 'FAMMEMB',
};

/** Native person fields → the DCI SRPerson properties that carry them. */
const DCI_NAMES: Record<string, string> = {
  full_name: 'name',
  given_name: 'name',
  family_name: 'name',
  additional_name: 'name',
  gender: 'sex',
  date_of_birth: 'birth_date',
  identities: 'identifier',
  'identities.identity_number': 'identifier',
  contacts: 'phone_number,email',
  address: 'address',
  birth_place: 'birth_place',
  household_id: 'household',
};

/**
 * Masking is named, never silent: an SRPerson lists the properties withheld for the caller in
 * the additional attribute `masked_fields` (comma-separated DCI names; docs/decisions/0012).
 */
function dciMasked(native: readonly string[]): string[] {
  return [...new Set(native.flatMap((f) => (DCI_NAMES[f] ? DCI_NAMES[f].split(',') : [])))];
}

const masked = (v: PersonView, field: string) =>
  v.masked_fields.some((m) => m === field || m.startsWith(`${field}.`));

function compact(o: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== null && v !== undefined && v !== ''));
}

function address(a: HouseholdView['address']): DciRecord | null {
  if (!a) return null;
  const out = compact({
    '@type': 'Address',
    address_line_1: a.line?.[0] ?? a.text,
    address_line_2: a.line?.[1],
    locality: a.city,
    sub_region_code: a.district,
    region_code: a.region,
    postal_code: a.postal_code,
    country_code: a.country,
  });
  return Object.keys(out).length > 1 ? out : null;
}

/** The household's identifiers: its Hearth id, then its active identifiers with their DCI type. */
function groupIdentifiers(
  householdId: string,
  identifiers: PersonHousehold['identifiers'],
  ctx: RecordContext,
): { identifier_type: string; identifier_value: string }[] {
  return [
    { identifier_type: GROUP_ID_TYPE, identifier_value: householdId },
    ...identifiers.map((i) => ({
      identifier_type: ctx.dciIdTypes.get(i.identity_type) ?? i.identity_type,
      identifier_value: i.identity_number,
    })),
  ];
}

/**
 * The person's additional attributes: `birth_place`, then for each household (n from 0)
 * `household[n].name` and one `household[n].identifier.<type>` per identifier of the household.
 */
function personAttributes(
  v: PersonView,
  ctx: RecordContext,
  households: readonly PersonHousehold[],
): NameValue[] {
  const out: NameValue[] = [];
  if (v.birth_place !== null && !masked(v, 'birth_place'))
    out.push({ name: 'birth_place', value: v.birth_place });
  households.forEach((h, n) => {
    if (h.household_name !== null) out.push({ name: `household[${n}].name`, value: h.household_name });
    for (const id of groupIdentifiers(h.household_id, h.identifiers, ctx)) {
      out.push({ name: `household[${n}].identifier.${id.identifier_type}`, value: id.identifier_value });
    }
  });
  return out;
}

/**
 * SRPerson. `households`: the person's current households the caller may see (left out of the
 * members of a Group record, whose household is the group itself).
 */
export function personRecord(
  v: PersonView,
  ctx: RecordContext,
  households: readonly PersonHousehold[] = [],
): DciRecord {
  const identifier: DciRecord[] = [{ identifier_type: PERSON_ID_TYPE, identifier_value: v.person_id }];
  if (!masked(v, 'identities')) {
    for (const i of v.identities) {
      if (i.status !== 'active') continue;
      identifier.push({
        identifier_type: ctx.dciIdTypes.get(i.identity_type) ?? i.identity_type,
        identifier_value: i.identity_number,
      });
    }
  }
  const parts = compact({ given_name: v.given_name, surname: v.family_name, second_name: v.additional_name });
  // The vocabulary's Name has no whole-name property: a name given only whole goes in given_name.
  const name = { '@type': 'Name', ...(Object.keys(parts).length > 0 ? parts : { given_name: v.full_name }) };
  const contacts = masked(v, 'contacts') ? [] : v.contacts;
  const phones = contacts.filter((c) => c.type === 'phone' || c.type === 'whatsapp').map((c) => c.value);
  const emails = contacts.filter((c) => c.type === 'email').map((c) => c.value);
  const addr = masked(v, 'address') ? null : address(v.address);
  const sex = v.gender !== null ? (GENDER_TO_SEX[v.gender] ?? 'other') : null;
  const attributes = personAttributes(v, ctx, households);
  const hidden = dciMasked(v.masked_fields);
  if (hidden.length > 0) attributes.push({ name: 'masked_fields', value: hidden.join(',') });
  return compact({
    '@type': 'SRPerson',
    identifier,
    name,
    sex,
    birth_date: v.date_of_birth,
    address: addr ? [addr] : null,
    phone_number: phones.length > 0 ? phones : null,
    email: emails.length > 0 ? emails : null,
    registration_date: v.created_at,
    last_updated: v.updated_at,
    additional_attributes: attributes.length > 0 ? attributes : null,
  });
}

/** Member: the person as demographic_info, its relationship to the group head when known. */
export function memberRecord(
  v: PersonView,
  ctx: RecordContext,
  role: string | null = null,
  head: PersonView | null = null,
  households: readonly PersonHousehold[] = [],
): DciRecord {
  const relationship = role ? ROLE_TO_RELATIONSHIP[role] : undefined;
  return compact({
    '@type': 'Member',
    member_identifier: [{ identifier_type: PERSON_ID_TYPE, identifier_value: v.person_id }],
    demographic_info: personRecord(v, ctx, households),
    related_person:
      relationship && head && head.person_id !== v.person_id
        ? [
            {
              '@type': 'RelatedPerson',
              relationship_type: relationship,
              related_member: {
                identifier: [{ identifier_type: PERSON_ID_TYPE, identifier_value: head.person_id }],
              },
            },
          ]
        : null,
    registration_date: v.created_at,
    last_updated: v.updated_at,
  });
}

export interface GroupParts {
  household: HouseholdView;
  /** The head, when the caller may see them. */
  head: PersonView | null;
  /** Current members the caller may see, with their membership role. */
  members: { view: PersonView; role: string }[];
  geo: GeoName | null;
  /** Active identifiers of the household. */
  identifiers: PersonHousehold['identifiers'];
  /** With sensitive:read the exact position is shown. */
  exactPosition: boolean;
}

function povertyScore(h: HouseholdView, path: readonly [string, string]): number | null {
  if (!h.extensions) return null;
  const ext = h.extensions[path[0]];
  if (!ext || typeof ext !== 'object') return null;
  const v = (ext as Record<string, unknown>)[path[1]];
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

/** Group: only members the caller may see are listed and counted. */
export function groupRecord(g: GroupParts, ctx: RecordContext): DciRecord {
  const h = g.household;
  const head = g.head ? memberRecord(g.head, ctx) : null;
  const position =
    g.exactPosition && h.geo_lat !== null && h.geo_lon !== null
      ? { '@type': 'GeoCoordinates', latitude: h.geo_lat, longitude: h.geo_lon }
      : null;
  const place =
    g.geo || position
      ? compact({ '@type': 'Place', name: g.geo?.name, address_line: g.geo?.code, geo: position })
      : null;
  const addr = address(h.address);
  const score = povertyScore(h, ctx.povertyPath);
  return compact({
    '@type': 'Group',
    group_identifier: groupIdentifiers(h.household_id, g.identifiers, ctx),
    group_type: KIND_TO_GROUP_TYPE[h.group_kind] ?? h.group_kind,
    group_size: g.members.length,
    group_head_info: head,
    member_list: g.members.map((m) => memberRecord(m.view, ctx, m.role, g.head)),
    geographical_location: place,
    address: addr ? [addr] : null,
    place_address: place ? 1 : addr ? 0 : null,
    poverty_score: score,
    poverty_score_type: score !== null ? ctx.povertyPath.join('.') : null,
    registration_date: h.created_at,
    last_updated: h.updated_at,
    // The vocabulary's Group has no name property.
    additional_attributes:
      h.household_name !== null ? [{ name: 'household_name', value: h.household_name }] : null,
  });
}
