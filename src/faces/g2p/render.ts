import type { Actor } from '../../auth/principal.js';
import type { HouseholdView, Membership } from '../../registry/household-schemas.js';
import { ageOn } from '../../registry/normalize.js';
import type { Address, PersonView } from '../../registry/person-schemas.js';
import type { VocabularyService } from '../../vocabulary/service.js';
import type { G2pGroupOut, G2pIndividualOut, G2pMemberOut } from './schemas.js';

/** Display names of the coded values a G2P response shows (G2P clients see names, not codes). */
export interface Labels {
  gender: ReadonlyMap<string, string>;
  idType: ReadonlyMap<string, string>;
  role: ReadonlyMap<string, string>;
  kind: ReadonlyMap<string, string>;
}

export async function labelsFor(vocabularies: VocabularyService, actor: Actor): Promise<Labels> {
  const [gender, idType, role, kind] = await Promise.all(
    ['gender', 'id-type', 'membership-role', 'group-kind'].map((v) => vocabularies.labels(actor, v)),
  );
  return { gender, idType, role, kind };
}

const label = (map: ReadonlyMap<string, string>, code: string) => map.get(code) ?? code;

function addressText(a: Address | null): string | null {
  if (!a) return null;
  if (a.text) return a.text;
  const parts = [...(a.line ?? []), a.city, a.district, a.region, a.postal_code, a.country];
  const text = parts.filter((x): x is string => typeof x === 'string' && x !== '').join(', ');
  return text || null;
}

/** The `g2p` extension object, when the caller may see extensions. */
function g2pOf(extensions: Record<string, unknown> | null): Record<string, unknown> {
  const v = extensions?.g2p;
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);

/** Native person fields → the G2P elements that carry them (fields without one are not named). */
const INDIVIDUAL_NAMES: Record<string, string[]> = {
  full_name: ['name'],
  given_name: ['given_name'],
  additional_name: ['addl_name'],
  family_name: ['family_name'],
  gender: ['gender'],
  date_of_birth: ['birthdate', 'age'],
  age_estimate: ['age'],
  birth_place: ['birth_place'],
  identities: ['ids'],
  'identities.identity_number': ['ids'],
  contacts: ['phone_numbers', 'email'],
  address: ['address'],
  extensions: ['registration_date'],
};

const GROUP_NAMES: Record<string, string[]> = {
  household_name: ['name'],
  address: ['address'],
  member_count: ['member_count'],
  extensions: ['registration_date', 'is_partial_group'],
};

/** masked_fields in the face's own vocabulary (docs/decisions/0012-access-policy.md). */
function g2pMasked(native: readonly string[], names: Record<string, string[]>): string[] {
  return [...new Set(native.flatMap((f) => names[f] ?? []))];
}

/** A person as a G2P individual; masked values stay masked, hidden ones are null or empty. */
export function individualOut(v: PersonView, l: Labels): G2pIndividualOut {
  const phones = v.contacts
    .filter((c) => c.type === 'phone')
    .sort((a, b) => Number(b.primary) - Number(a.primary));
  const email = v.contacts.find((c) => c.type === 'email');
  const age = v.age_estimate ?? (v.date_of_birth ? ageOn(v.date_of_birth) : null);
  return {
    id: v.person_id,
    name: v.full_name,
    given_name: v.given_name,
    addl_name: v.additional_name,
    family_name: v.family_name,
    gender: v.gender === null ? null : label(l.gender, v.gender),
    birthdate: v.date_of_birth,
    age: age === null ? null : String(age),
    birth_place: v.birth_place,
    is_group: false,
    registration_date: str(g2pOf(v.extensions).registration_date),
    ids: v.identities.map((i) => ({
      id_type: label(l.idType, i.identity_type),
      value: i.identity_number,
      expiry_date: i.expiry_date,
      status: i.status,
      description: i.description,
    })),
    phone_numbers: phones.map((p) => ({ phone_no: p.value, phone_sanitized: p.value, date_collected: null })),
    email: email?.value ?? null,
    address: addressText(v.address),
    create_date: v.created_at,
    write_date: v.updated_at,
    masked_fields: g2pMasked(v.masked_fields, INDIVIDUAL_NAMES),
  };
}

export function memberOut(m: Membership & { person: PersonView }, l: Labels): G2pMemberOut {
  return {
    id: m.membership_id,
    individual: individualOut(m.person, l),
    kind: [{ name: label(l.role, m.relationship_type) }],
    create_date: m.effective_from,
    write_date: m.ended_at,
  };
}

/** A household as a G2P group; members only when asked for. */
export function groupOut(
  h: HouseholdView,
  l: Labels,
  members?: (Membership & { person: PersonView })[],
): G2pGroupOut {
  const g2p = g2pOf(h.extensions);
  const out: G2pGroupOut = {
    id: h.household_id,
    name: h.household_name,
    is_group: true,
    kind: label(l.kind, h.group_kind),
    is_partial_group: typeof g2p.is_partial_group === 'boolean' ? g2p.is_partial_group : null,
    registration_date: str(g2p.registration_date),
    ids: [],
    phone_numbers: [],
    email: null,
    address: addressText(h.address),
    create_date: h.created_at,
    write_date: h.updated_at,
    member_count: h.member_count,
    masked_fields: g2pMasked(h.masked_fields, GROUP_NAMES),
  };
  if (members) out.members = members.map((m) => memberOut(m, l));
  return out;
}
