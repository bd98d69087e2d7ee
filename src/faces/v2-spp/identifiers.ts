import { AppError } from '../../http/errors.js';
import { isUuid } from '../../lib/ids.js';
import type { RegistrantRef } from '../../registry/registrant-lookup.js';
import { identitySystem, namespaceOf } from '../../vocabulary/seed.js';

/** Identifier systems of Hearth's own public ids (docs/decisions/0051-v2-identifiers.md). */
export const PERSON_ID_SYSTEM = 'urn:hearth:id:person';
export const GROUP_ID_SYSTEM = 'urn:hearth:id:group';
export const PROGRAM_ID_SYSTEM = 'urn:hearth:id:program';
export const PROGRAM_CODE_SYSTEM = 'urn:hearth:program-code';
export const MEMBERSHIP_ID_SYSTEM = 'urn:hearth:id:program-membership';

/** `urn:hearth:vocab:id-type#` followed by an id-type code: the identifiers of the native API. */
const ID_TYPE_PREFIX = identitySystem('');

export const V2_BASE = '/api/v2/spp';

export interface Identifier {
  system: string;
  value: string;
}

export function badRequest(field: string, message: string): AppError {
  return new AppError('ERR_VAL_INVALID_FORMAT', `${field}: ${message}`, {
    status: 400,
    errors: [{ field, message }],
  });
}

/** `{system}|{value}` (already URL-decoded): malformed → 400. */
export function parseIdentifier(raw: string, field = 'identifier'): Identifier {
  const i = raw.indexOf('|');
  const system = i > 0 ? raw.slice(0, i) : '';
  const value = i > 0 ? raw.slice(i + 1) : '';
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (!system || !value || /[\s\u0000-\u001f]/.test(system) || /[\u0000-\u001f]/.test(value)) {
    throw badRequest(field, 'must be {system}|{value}, URL-encoded (# as %23)');
  }
  return { system, value };
}

/** The id-type code of an identifier system, or null when the system is not one. */
export function identityTypeOf(system: string): string | null {
  if (!system.startsWith(ID_TYPE_PREFIX)) return null;
  const code = system.slice(ID_TYPE_PREFIX.length);
  return code.length > 0 ? code : null;
}

export const systemOfIdentityType = identitySystem;

/**
 * How a registrant named by an identifier is looked up: by its Hearth id, or by an identity.
 * Null when the system cannot name a registrant of this kind (an unknown system: nothing holds it).
 */
export function registrantRef(
  kind: 'person' | 'group',
  id: Identifier,
  field = 'identifier',
): RegistrantRef | null {
  const own = kind === 'person' ? PERSON_ID_SYSTEM : GROUP_ID_SYSTEM;
  if (id.system === own) {
    if (!isUuid(id.value)) throw badRequest(field, `a ${own} value is a UUID`);
    return { id: id.value.toLowerCase() };
  }
  const type = identityTypeOf(id.system);
  return type ? { identityType: type, number: id.value } : null;
}

export type ResourceType = 'Individual' | 'Group' | 'Program' | 'ProgramMembership';

/** `Individual/{system}|{value}` (or `Group/…`, `Program/…`) → its type and identifier; malformed → 400. */
export function parseReference(
  reference: string,
  allowed: readonly ResourceType[],
  field: string,
): { type: ResourceType; id: Identifier } {
  const slash = reference.indexOf('/');
  const type = reference.slice(0, slash) as ResourceType;
  if (slash <= 0 || !allowed.includes(type)) {
    throw badRequest(
      field,
      `must be a reference ${allowed.map((a) => `${a}/{system}|{value}`).join(' or ')}`,
    );
  }
  let rest = reference.slice(slash + 1);
  try {
    if (rest.includes('%')) rest = decodeURIComponent(rest);
  } catch {
    throw badRequest(field, 'is not a valid URL-encoded reference');
  }
  return { type, id: parseIdentifier(rest, field) };
}

export const referenceTo = (type: ResourceType, id: Identifier): string => `${type}/${id.system}|${id.value}`;

/** The URL path of a resource: the identifier URL-encoded (`#` as `%23`, `|` as `%7C`; `:` kept). */
export const locationOf = (type: ResourceType, id: Identifier): string =>
  `${V2_BASE}/${type}/${encodeURIComponent(`${id.system}|${id.value}`).replace(/%3A/gi, ':')}`;

export const personReference = (personId: string) =>
  referenceTo('Individual', { system: PERSON_ID_SYSTEM, value: personId });
export const groupReference = (householdId: string) =>
  referenceTo('Group', { system: GROUP_ID_SYSTEM, value: householdId });
export const programReference = (programId: string) =>
  referenceTo('Program', { system: PROGRAM_ID_SYSTEM, value: programId });

/** Namespace of the membership-role vocabulary (codings of Group.member[].role). */
export const ROLE_SYSTEM = namespaceOf('membership-role');
