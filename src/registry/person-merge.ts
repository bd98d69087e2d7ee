import { AppError } from '../http/errors.js';
import { identityKey } from './normalize.js';
import type { ContactRow, IdentityRow } from './person-repo.js';
import type { ContactInput, IdentityInput, NOT_UPDATABLE, PersonPatch } from './person-schemas.js';

/**
 * A partial update whose lists are merged into the stored record instead of replacing it (the
 * compatibility faces send only what changed, and may not see masked values).
 */
export type PersonMerge = Omit<
  PersonPatch,
  'identities' | 'contacts' | 'extensions' | (typeof NOT_UPDATABLE)[number]
> & {
  /** Upserted by identity type and number; identities not named are kept. */
  identities?: IdentityInput[];
  /** The contacts of each type given replace the stored contacts of that type; other types are kept. */
  contacts?: ContactInput[];
  /** Each extension object given is merged key by key over the stored one. */
  extensions?: Record<string, Record<string, unknown>>;
};

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** The given identities first (in their order), then the stored ones they do not name. */
export function mergeIdentities(stored: IdentityRow[], given: IdentityInput[]): IdentityInput[] {
  const keyOf = (type: string, number: string) => `${type}|${identityKey(number)}`;
  const named = new Set(given.map((g) => keyOf(g.identity_type, g.identity_number)));
  const kept = stored
    .filter((s) => !named.has(keyOf(s.identity_type, s.identity_number)))
    .map((s) => ({
      identity_type: s.identity_type,
      identity_number: s.identity_number,
      ...(s.expiry_date ? { expiry_date: s.expiry_date } : {}),
      status: s.status as IdentityInput['status'],
      ...(s.description ? { description: s.description } : {}),
    }));
  return [...given, ...kept];
}

/** The given contacts first; stored contacts of the types given are dropped, the others kept. */
export function mergeContacts(stored: ContactRow[], given: ContactInput[]): ContactInput[] {
  const replaced = new Set(given.map((c) => c.type));
  const givenPrimary = given.some((c) => c.primary);
  const kept = stored
    .filter((c) => !replaced.has(c.type))
    .map((c) => ({ type: c.type, value: c.value, primary: givenPrimary ? false : c.primary }));
  const keptPrimary = kept.some((c) => c.primary);
  return [...given.map((c) => ({ ...c, primary: keptPrimary ? false : (c.primary ?? false) })), ...kept];
}

export function mergeExtensions(
  stored: Record<string, unknown> | null,
  given: Record<string, Record<string, unknown>>,
): Record<string, unknown> {
  const out: Record<string, unknown> = { ...(stored ?? {}) };
  for (const [name, value] of Object.entries(given)) {
    const before = out[name];
    out[name] = isObject(before) ? { ...before, ...value } : value;
  }
  return out;
}

/** The PATCH a merge amounts to on the stored record. */
export function mergedPatch(
  row: { identities: IdentityRow[]; contacts: ContactRow[]; extensions: Record<string, unknown> | null },
  input: PersonMerge,
): PersonPatch {
  const { identities, contacts, extensions, ...rest } = input;
  const patch: PersonPatch = { ...rest };
  if (identities !== undefined) patch.identities = mergeIdentities(row.identities, identities);
  if (contacts !== undefined) patch.contacts = mergeContacts(row.contacts, contacts);
  if (extensions !== undefined) patch.extensions = mergeExtensions(row.extensions, extensions);
  return patch;
}

/** The same error with its fields (and detail) placed under `prefix` (a list item of a batch). */
export function errorUnder(err: unknown, prefix: string): unknown {
  if (!(err instanceof AppError)) return err;
  return new AppError(err.code, `${prefix}.${err.message}`, {
    status: err.status,
    headers: err.headers,
    extra: err.extra,
    errors: err.errors?.map((e) => ({ ...e, field: `${prefix}.${e.field}` })),
  });
}
