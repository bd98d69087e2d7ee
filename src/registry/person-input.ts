import type { Queryable } from '../db/database.js';
import { AppError } from '../http/errors.js';
import type { VocabularyService } from '../vocabulary/service.js';
import type { ExtensionService } from './extensions.js';
import { assertGeoArea } from './geo.js';
import { assertBirthDate, birthDateFromAge, identityKey, normalizeContact } from './normalize.js';
import type { NormalizedContact, NormalizedIdentity } from './person-repo.js';
import type { ContactInput, IdentityInput } from './person-schemas.js';

export interface InputDeps {
  vocabularies: VocabularyService;
  extensions: ExtensionService;
}

export function rule(field: string, message: string): AppError {
  return new AppError('ERR_VAL_RULE_VIOLATION', `${field}: ${message}`, { errors: [{ field, message }] });
}

/** date_of_birth or age_estimate, exactly one; an estimate becomes an estimated birth date. */
export function birthOf(input: {
  date_of_birth?: string;
  age_estimate?: number;
  birth_date_estimated?: boolean;
}): {
  date: string;
  estimated: boolean;
} {
  if (input.date_of_birth !== undefined && input.age_estimate !== undefined) {
    throw rule('age_estimate', 'give date_of_birth or age_estimate, not both');
  }
  if (input.birth_date_estimated !== undefined && input.date_of_birth === undefined) {
    throw rule('birth_date_estimated', 'only applies with date_of_birth');
  }
  if (input.date_of_birth !== undefined) {
    assertBirthDate(input.date_of_birth);
    return { date: input.date_of_birth, estimated: input.birth_date_estimated ?? false };
  }
  if (input.age_estimate !== undefined)
    return { date: birthDateFromAge(input.age_estimate), estimated: true };
  throw new AppError('ERR_VAL_MISSING_FIELD', 'date_of_birth or age_estimate is required', {
    errors: [{ field: 'date_of_birth', message: 'date_of_birth or age_estimate is required' }],
  });
}

/** The seed's identity_type/identity_number shorthand merged into identities[], checked and keyed. */
export async function normalizeIdentities(
  q: Queryable,
  deps: InputDeps,
  tenantId: string,
  input: { identity_type?: string; identity_number?: string; identities?: IdentityInput[] },
): Promise<NormalizedIdentity[]> {
  const list: IdentityInput[] = [...(input.identities ?? [])];
  if ((input.identity_type === undefined) !== (input.identity_number === undefined)) {
    const missing = input.identity_type === undefined ? 'identity_type' : 'identity_number';
    throw new AppError('ERR_VAL_MISSING_FIELD', `${missing} is required with the other`, {
      errors: [{ field: missing, message: 'identity_type and identity_number go together' }],
    });
  }
  if (input.identity_type && input.identity_number) {
    list.unshift({ identity_type: input.identity_type, identity_number: input.identity_number });
  }
  const seen = new Set<string>();
  const out: NormalizedIdentity[] = [];
  for (const [i, id] of list.entries()) {
    const field =
      input.identities && i >= list.length - input.identities.length
        ? `identities[${i - (list.length - input.identities.length)}]`
        : 'identity';
    await deps.vocabularies.assertCode(q, tenantId, 'id-type', id.identity_type, `${field}.identity_type`);
    const key = identityKey(id.identity_number);
    if (key.length === 0) throw rule(`${field}.identity_number`, 'has no letters or digits');
    const unique = `${id.identity_type}|${key}`;
    if (seen.has(unique)) throw rule(`${field}.identity_number`, 'the same identity is given twice');
    seen.add(unique);
    out.push({
      identity_type: id.identity_type,
      identity_number: id.identity_number.trim(),
      key,
      expiry_date: id.expiry_date ?? null,
      status: id.status ?? 'active',
      description: id.description ?? null,
    });
  }
  return out;
}

export async function normalizeContacts(
  q: Queryable,
  deps: InputDeps,
  tenantId: string,
  contacts: ContactInput[] | undefined,
  defaultCountry: string | undefined,
): Promise<NormalizedContact[]> {
  const out: NormalizedContact[] = [];
  let primarySeen = false;
  for (const [i, c] of (contacts ?? []).entries()) {
    const field = `contacts[${i}]`;
    await deps.vocabularies.assertCode(q, tenantId, 'contact-type', c.type, `${field}.type`);
    const n = normalizeContact(c.type, c.value, `${field}.value`, defaultCountry);
    if (c.primary && primarySeen) throw rule(`${field}.primary`, 'only one contact can be primary');
    primarySeen ||= c.primary === true;
    out.push({ type: c.type, value: n.value, key: n.key, primary: c.primary ?? false });
  }
  if (!primarySeen && out.length > 0) out[0].primary = true;
  return out;
}

export async function checkReferences(
  q: Queryable,
  deps: InputDeps,
  tenantId: string,
  input: { gender?: string; geo_id?: string | null; extensions?: Record<string, unknown> },
): Promise<void> {
  if (input.gender !== undefined)
    await deps.vocabularies.assertCode(q, tenantId, 'gender', input.gender, 'gender');
  if (input.geo_id) await assertGeoArea(q, tenantId, input.geo_id);
  if (input.extensions) await deps.extensions.validate(q, tenantId, 'person', input.extensions);
}
