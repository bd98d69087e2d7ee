import { AppError, invalid } from '../../http/errors.js';
import type { HouseholdRegistrationInput } from '../../registry/household-registration.js';
import type { HouseholdPatch } from '../../registry/household-schemas.js';
import { assertNotFuture } from '../../registry/normalize.js';
import type { PersonMerge } from '../../registry/person-merge.js';
import type { ContactInput, IdentityInput, PersonCreate } from '../../registry/person-schemas.js';
import type { G2pGroupIn, G2pGroupUpdateItem, G2pIdIn, G2pIndividualIn, G2pUpdateItem } from './schemas.js';

/** A coded value to resolve (code or display name), named by its G2P field. */
export interface CodeAsk {
  vocabulary: string;
  value: string;
  field: string;
}

/** Resolved codes by G2P field name. */
export type Codes = ReadonlyMap<string, string>;

type IndividualFields = Omit<G2pIndividualIn, 'name'> & { name?: string | null };

const ID_STATUS: Record<string, IdentityInput['status']> = {
  valid: 'active',
  active: 'active',
  expired: 'expired',
  revoked: 'revoked',
  invalid: 'invalid',
};

const today = () => new Date().toISOString().slice(0, 10);

function required(field: string, message = 'is required'): AppError {
  return new AppError('ERR_VAL_MISSING_FIELD', `${field}: ${message}`, { errors: [{ field, message }] });
}

/** The coded values of one individual: its gender and the types of its ids. */
export function individualAsks(p: IndividualFields, prefix = ''): CodeAsk[] {
  const asks: CodeAsk[] = [];
  if (p.gender != null) asks.push({ vocabulary: 'gender', value: p.gender, field: `${prefix}gender` });
  for (const [i, id] of (p.ids ?? []).entries()) {
    asks.push({ vocabulary: 'id-type', value: id.id_type, field: `${prefix}ids[${i}].id_type` });
  }
  return asks;
}

/**
 * What the person service cannot see in its own input: G2P-only dates in the future, id statuses,
 * and the gender the native schema requires (a blank name or a missing birthdate is the service's).
 */
export function checkIndividual(p: IndividualFields, prefix = '', creating = true): void {
  if (creating && p.gender == null) throw required(`${prefix}gender`);
  if (p.registration_date != null) assertNotFuture(p.registration_date, `${prefix}registration_date`);
  for (const [j, phone] of (p.phone_numbers ?? []).entries()) {
    if (phone.date_collected != null) {
      assertNotFuture(phone.date_collected, `${prefix}phone_numbers[${j}].date_collected`);
    }
  }
  for (const [i, id] of (p.ids ?? []).entries()) statusOf(id, `${prefix}ids[${i}].status`);
}

function statusOf(id: G2pIdIn, field: string): IdentityInput['status'] {
  if (id.status == null) return 'active';
  const status = ID_STATUS[id.status.trim().toLowerCase()];
  if (!status) throw invalid(field, `must be one of: ${Object.keys(ID_STATUS).join(', ')}`);
  return status;
}

function identitiesOf(p: IndividualFields, codes: Codes, prefix: string): IdentityInput[] {
  return (p.ids ?? []).map((id, i) => ({
    identity_type: codes.get(`${prefix}ids[${i}].id_type`)!,
    identity_number: id.value,
    ...(id.expiry_date != null ? { expiry_date: id.expiry_date } : {}),
    status: statusOf(id, `${prefix}ids[${i}].status`),
    ...(id.description != null ? { description: id.description } : {}),
  }));
}

/** Phones (the first primary), then the email: the order contactFields names them in. */
function contactsOf(p: IndividualFields): ContactInput[] {
  const phones = (p.phone_numbers ?? []).map((ph, j) => ({
    type: 'phone',
    value: ph.phone_no,
    primary: j === 0,
  }));
  const email = p.email != null ? [{ type: 'email', value: p.email, primary: false }] : [];
  return [...phones, ...email];
}

/** G2P field names of the contacts built by contactsOf, by position. */
function contactFields(p: IndividualFields, prefix: string): string[] {
  const phones = (p.phone_numbers ?? []).map((_, j) => `${prefix}phone_numbers[${j}].phone_no`);
  return p.email != null ? [...phones, `${prefix}email`] : phones;
}

const PERSON_FIELDS: Record<string, string> = {
  full_name: 'name',
  additional_name: 'addl_name',
  date_of_birth: 'birthdate',
  age_estimate: 'birthdate',
  identity: 'ids',
  identities: 'ids',
  contacts: 'phone_numbers',
  extensions: 'registration_date',
};
const ID_FIELDS: Record<string, string> = { identity_type: 'id_type', identity_number: 'value' };

/** Maps a person field named by the domain to the G2P field the client sent. */
export function personFieldName(p: IndividualFields, prefix = ''): (field: string) => string {
  const contacts = contactFields(p, prefix);
  const idCount = p.ids?.length ?? 0;
  return (field) => {
    const c = /^contacts\[(\d+)\]/.exec(field);
    if (c) return contacts[Number(c[1])] ?? `${prefix}phone_numbers`;
    const i = /^identities\[(\d+)\](?:\.(\w+))?/.exec(field);
    if (i) {
      if (Number(i[1]) >= idCount) return `${prefix}ids`;
      return `${prefix}ids[${i[1]}]${i[2] ? `.${ID_FIELDS[i[2]] ?? i[2]}` : ''}`;
    }
    if (field.startsWith('extensions.g2p.')) return prefix + field.slice('extensions.g2p.'.length);
    return prefix + (PERSON_FIELDS[field.split('.')[0]] ?? field);
  };
}

function addressOf(text: string | null | undefined) {
  return text != null && text.trim() !== '' ? { text: text.trim() } : undefined;
}

type NewPerson = Omit<PersonCreate, 'household_id' | 'relationship_type'>;

/** A new individual as the person service takes it; codes already resolved. */
export function personCreateOf(p: G2pIndividualIn, codes: Codes, prefix = ''): NewPerson {
  const input: NewPerson = {
    full_name: p.name.trim(),
    date_of_birth: p.birthdate ?? undefined,
    gender: codes.get(`${prefix}gender`)!,
    identities: identitiesOf(p, codes, prefix),
    contacts: contactsOf(p),
    extensions: { g2p: { registration_date: p.registration_date ?? today() } },
  };
  if (p.given_name != null) input.given_name = p.given_name;
  if (p.family_name != null) input.family_name = p.family_name;
  if (p.addl_name != null) input.additional_name = p.addl_name;
  if (p.birth_place != null) input.birth_place = p.birth_place;
  const address = addressOf(p.address);
  if (address) input.address = address;
  return input;
}

/**
 * An update: only fields given with a value change (null or absent leave the stored value);
 * ids are upserted, phones given replace the phones, an email replaces the email.
 */
export function personMergeOf(p: G2pUpdateItem, codes: Codes, prefix: string): PersonMerge {
  const out: PersonMerge = {};
  if (p.name != null) out.full_name = p.name.trim();
  if (p.given_name != null) out.given_name = p.given_name;
  if (p.family_name != null) out.family_name = p.family_name;
  if (p.addl_name != null) out.additional_name = p.addl_name;
  if (p.birth_place != null) out.birth_place = p.birth_place;
  if (p.birthdate != null) out.date_of_birth = p.birthdate;
  if (p.gender != null) out.gender = codes.get(`${prefix}gender`)!;
  const address = addressOf(p.address);
  if (address) out.address = address;
  if (p.ids != null) out.identities = identitiesOf(p, codes, prefix);
  if (p.phone_numbers != null || p.email != null) out.contacts = contactsOf(p);
  if (p.registration_date != null) out.extensions = { g2p: { registration_date: p.registration_date } };
  return out;
}

/** Group fields Hearth keeps on members only: refused on the group rather than dropped. */
function refuseOnGroup(g: Pick<G2pGroupIn, 'ids' | 'phone_numbers' | 'email'>, prefix = ''): void {
  const message = 'not held by groups in Hearth; give it on a member';
  const on = (field: string) =>
    new AppError('ERR_VAL_UNKNOWN_FIELD', `${prefix}${field}: ${message}`, {
      errors: [{ field: `${prefix}${field}`, message }],
    });
  if (g.ids?.length) throw on('ids');
  if (g.phone_numbers?.length) throw on('phone_numbers');
  if (g.email != null && g.email.trim() !== '') throw on('email');
}

/** The checks and coded values of a group and its members. */
export function groupAsks(g: G2pGroupIn): CodeAsk[] {
  if (g.registration_date != null) assertNotFuture(g.registration_date, 'registration_date');
  refuseOnGroup(g);
  const asks: CodeAsk[] = [];
  if (g.kind != null) asks.push({ vocabulary: 'group-kind', value: g.kind, field: 'kind' });
  for (const [i, m] of g.members.entries()) {
    const prefix = `members[${i}].`;
    checkIndividual(m, prefix);
    asks.push(...individualAsks(m, prefix));
    const kind = m.kind?.[0]?.name;
    if (kind != null) asks.push({ vocabulary: 'membership-role', value: kind, field: `${prefix}kind` });
  }
  return asks;
}

export function registrationOf(g: G2pGroupIn, codes: Codes): HouseholdRegistrationInput {
  const g2p: Record<string, unknown> = { registration_date: g.registration_date ?? today() };
  if (g.is_partial_group != null) g2p.is_partial_group = g.is_partial_group;
  const address = addressOf(g.address);
  return {
    household: {
      household_name: g.name.trim(),
      group_kind: codes.get('kind') ?? 'household',
      ...(address ? { address } : {}),
      extensions: { g2p },
    },
    members: g.members.map((m, i) => ({
      person: personCreateOf(m, codes, `members[${i}].`),
      relationship_type: codes.get(`members[${i}].kind`) ?? 'member',
    })),
  };
}

const GROUP_FIELDS: Record<string, string> = {
  household_name: 'name',
  group_kind: 'kind',
  leader_id: 'members',
  extensions: 'registration_date',
};

/** Maps a field of a household registration error to the G2P field the client sent. */
/** A household field named by the domain as the G2P group field. */
function groupField(field: string): string {
  if (field.startsWith('extensions.g2p.')) return field.slice('extensions.g2p.'.length);
  return GROUP_FIELDS[field.split('.')[0]] ?? field;
}

export function groupFieldName(g: G2pGroupIn): (field: string) => string {
  const members = g.members.map((m, i) => personFieldName(m, `members[${i}].`));
  return (field) => {
    const m = /^members\[(\d+)\]\.(.*)$/.exec(field);
    if (m) {
      const i = Number(m[1]);
      if (m[2] === 'relationship_type' || m[2] === 'person_id') return `members[${i}].kind`;
      return members[i] ? members[i](m[2]) : field;
    }
    return groupField(field);
  };
}

/** The checks and coded values of the groups of an update_group request. */
export function groupUpdateAsks(items: G2pGroupUpdateItem[]): CodeAsk[] {
  const asks: CodeAsk[] = [];
  for (const [i, g] of items.entries()) {
    const prefix = `[${i}].`;
    if (g.registration_date != null) assertNotFuture(g.registration_date, `${prefix}registration_date`);
    refuseOnGroup(g, prefix);
    if (g.members?.length) {
      const message =
        'members are not changed by update_group; add or end them through the native API ' +
        '(POST /api/v1/households/{id}/members, POST /api/v1/households/{id}/members/{person_id}/end)';
      throw new AppError('ERR_VAL_UNKNOWN_FIELD', `${prefix}members: ${message}`, {
        errors: [{ field: `${prefix}members`, message }],
      });
    }
    if (g.kind != null) asks.push({ vocabulary: 'group-kind', value: g.kind, field: `${prefix}kind` });
  }
  return asks;
}

/**
 * A group update as a household PATCH: only fields given with a value change (null, absent or a
 * blank address leave the stored value). The G2P-only fields come back separately in `g2p`: the
 * route merges them into the stored `extensions.g2p` (docs/decisions/0068).
 */
export function householdPatchOf(
  g: G2pGroupUpdateItem,
  codes: Codes,
  prefix: string,
): { patch: HouseholdPatch; g2p: Record<string, unknown> | undefined } {
  const patch: HouseholdPatch = {};
  if (g.name != null) patch.household_name = g.name.trim();
  if (g.kind != null) patch.group_kind = codes.get(`${prefix}kind`)!;
  const address = addressOf(g.address);
  if (address) patch.address = address;
  const g2p: Record<string, unknown> = {};
  if (g.registration_date != null) g2p.registration_date = g.registration_date;
  if (g.is_partial_group != null) g2p.is_partial_group = g.is_partial_group;
  return { patch, g2p: Object.keys(g2p).length > 0 ? g2p : undefined };
}

/** Maps a field of an update_group error (`[i].field`) to the G2P field of item i. */
export function updateGroupFieldName(field: string): string {
  const m = /^(\[\d+\]\.)(.*)$/.exec(field);
  return m ? m[1] + groupField(m[2]) : field;
}

/** Maps a field of an update error (`[i].field`) to the G2P field of item i. */
export function updateFieldName(items: G2pUpdateItem[]): (field: string) => string {
  const names = items.map((it, i) => personFieldName(it, `[${i}].`));
  return (field) => {
    const m = /^\[(\d+)\]\.(.*)$/.exec(field);
    const name = m ? names[Number(m[1])] : undefined;
    return name ? name(m![2]) : field;
  };
}
