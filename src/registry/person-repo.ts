import type { Queryable } from '../db/database.js';
import { uuidv7 } from '../lib/ids.js';
import type { Address } from './person-schemas.js';

export interface IdentityRow {
  identity_type: string;
  identity_number: string;
  expiry_date: string | null;
  status: string;
  description: string | null;
}

export interface ContactRow {
  type: string;
  value: string;
  primary: boolean;
}

/** A person as stored, with its current identities and contacts. */
export interface PersonRow {
  tenant_id: string;
  id: string;
  system_guid: string;
  full_name: string;
  given_name: string | null;
  family_name: string | null;
  additional_name: string | null;
  date_of_birth: string | null;
  birth_date_estimated: boolean;
  gender: string | null;
  birth_place: string | null;
  address: Address | null;
  geo_id: string | null;
  household_id: string | null;
  extensions: Record<string, unknown>;
  verification_status: 'provisional' | 'verified';
  verified_by: string | null;
  verified_at: Date | null;
  status: 'active' | 'archived';
  archived_at: Date | null;
  version_id: number;
  created_at: Date;
  updated_at: Date;
  created_by: string | null;
  source_system: string | null;
  collection_method: string;
  updated_by: string | null;
  last_update_system: string | null;
  identities: IdentityRow[];
  contacts: ContactRow[];
}

export const PERSON_SELECT = `
  SELECT p.tenant_id, p.id, p.system_guid, p.full_name, p.given_name, p.family_name, p.additional_name,
         p.date_of_birth, p.birth_date_estimated, p.gender, p.birth_place, p.address, p.geo_id, p.household_id,
         p.extensions, p.verification_status, p.verified_by, p.verified_at, p.status, p.archived_at, p.version_id,
         p.created_at, p.updated_at, p.created_by, p.source_system, p.collection_method, p.updated_by,
         p.last_update_system,
         COALESCE((SELECT json_agg(json_build_object('identity_type', i.identity_type, 'identity_number',
                    i.identity_number, 'expiry_date', i.expiry_date, 'status', i.status, 'description', i.description)
                    ORDER BY i.created_at, i.id)
                     FROM person_identities i
                    WHERE i.tenant_id = p.tenant_id AND i.person_id = p.id AND i.removed_at IS NULL), '[]'::json)
           AS identities,
         COALESCE((SELECT json_agg(json_build_object('type', c.type, 'value', c.value, 'primary', c.is_primary)
                    ORDER BY c.is_primary DESC, c.created_at, c.id)
                     FROM person_contacts c
                    WHERE c.tenant_id = p.tenant_id AND c.person_id = p.id AND c.removed_at IS NULL), '[]'::json)
           AS contacts
    FROM persons p`;

export async function findPersons(
  q: Queryable,
  tenantId: string,
  ids: readonly string[],
  lock = false,
): Promise<PersonRow[]> {
  if (ids.length === 0) return [];
  const { rows } = await q.query<PersonRow>(
    `${PERSON_SELECT} WHERE p.tenant_id = $1 AND p.id = ANY($2::uuid[])${lock ? ' FOR UPDATE OF p' : ''}`,
    [tenantId, ids],
  );
  const order = new Map(ids.map((id, i) => [id, i]));
  return rows.sort((a, b) => (order.get(a.id) ?? 0) - (order.get(b.id) ?? 0));
}

export async function findPerson(
  q: Queryable,
  tenantId: string,
  id: string,
  lock = false,
): Promise<PersonRow | null> {
  return (await findPersons(q, tenantId, [id], lock))[0] ?? null;
}

export interface NewPerson {
  tenantId: string;
  id: string;
  fullName: string;
  givenName: string | null;
  familyName: string | null;
  additionalName: string | null;
  dateOfBirth: string | null;
  birthDateEstimated: boolean;
  gender: string;
  birthPlace: string | null;
  address: Address | null;
  geoId: string | null;
  householdId: string | null;
  extensions: Record<string, unknown>;
  createdBy: string;
  sourceSystem: string | null;
  collectionMethod: string;
}

export async function insertPerson(q: Queryable, p: NewPerson): Promise<void> {
  await q.query(
    `INSERT INTO persons (tenant_id, id, system_guid, full_name, given_name, family_name, additional_name,
       date_of_birth, birth_date_estimated, gender, birth_place, address, geo_id, household_id, extensions,
       created_by, source_system, collection_method)
     VALUES ($1, $2, gen_random_uuid(), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
    [
      p.tenantId,
      p.id,
      p.fullName,
      p.givenName,
      p.familyName,
      p.additionalName,
      p.dateOfBirth,
      p.birthDateEstimated,
      p.gender,
      p.birthPlace,
      p.address ? JSON.stringify(p.address) : null,
      p.geoId,
      p.householdId,
      JSON.stringify(p.extensions),
      p.createdBy,
      p.sourceSystem,
      p.collectionMethod,
    ],
  );
}

export interface NormalizedIdentity extends IdentityRow {
  key: string;
}

export interface NormalizedContact extends ContactRow {
  key: string;
}

export async function insertIdentities(
  q: Queryable,
  tenantId: string,
  personId: string,
  identities: NormalizedIdentity[],
): Promise<void> {
  if (identities.length === 0) return;
  await q.query(
    `INSERT INTO person_identities (tenant_id, id, person_id, identity_type, identity_number, identity_key, expiry_date,
       status, description)
     SELECT $1, x.id, $2, x.t, x.n, x.k, x.e, x.s, x.d
       FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::date[], $8::text[], $9::text[])
         AS x(id, t, n, k, e, s, d)`,
    [
      tenantId,
      personId,
      identities.map(() => uuidv7()),
      identities.map((i) => i.identity_type),
      identities.map((i) => i.identity_number),
      identities.map((i) => i.key),
      identities.map((i) => i.expiry_date),
      identities.map((i) => i.status),
      identities.map((i) => i.description),
    ],
  );
}

export async function insertContacts(
  q: Queryable,
  tenantId: string,
  personId: string,
  contacts: NormalizedContact[],
): Promise<void> {
  if (contacts.length === 0) return;
  await q.query(
    `INSERT INTO person_contacts (tenant_id, id, person_id, type, value, value_key, is_primary)
     SELECT $1, x.id, $2, x.t, x.v, x.k, x.p FROM unnest($3::uuid[], $4::text[], $5::text[], $6::text[], $7::boolean[])
       AS x(id, t, v, k, p)`,
    [
      tenantId,
      personId,
      contacts.map(() => uuidv7()),
      contacts.map((c) => c.type),
      contacts.map((c) => c.value),
      contacts.map((c) => c.key),
      contacts.map((c) => c.primary),
    ],
  );
}

/** Retires the current identities (kept as history) before a new set is written. */
export async function retireIdentities(q: Queryable, tenantId: string, personId: string): Promise<void> {
  await q.query(
    'UPDATE person_identities SET removed_at = now() WHERE tenant_id = $1 AND person_id = $2 AND removed_at IS NULL',
    [tenantId, personId],
  );
}

export async function retireContacts(q: Queryable, tenantId: string, personId: string): Promise<void> {
  await q.query(
    'UPDATE person_contacts SET removed_at = now() WHERE tenant_id = $1 AND person_id = $2 AND removed_at IS NULL',
    [tenantId, personId],
  );
}

const UPDATABLE_COLUMNS = new Set([
  'full_name',
  'given_name',
  'family_name',
  'additional_name',
  'date_of_birth',
  'birth_date_estimated',
  'gender',
  'birth_place',
  'address',
  'geo_id',
  'household_id',
  'extensions',
  'verification_status',
  'verified_by',
  'verified_at',
  'status',
  'archived_at',
  'status_reason_code',
  'status_reason_text',
]);

/** Column updates by name (only names of this list ever reach the SQL). Bumps version_id. */
export async function updatePersonColumns(
  q: Queryable,
  tenantId: string,
  id: string,
  columns: Record<string, unknown>,
  meta: { updatedBy: string; lastUpdateSystem: string | null },
): Promise<{ version_id: number; updated_at: Date }> {
  const names = Object.keys(columns);
  for (const n of names)
    if (!UPDATABLE_COLUMNS.has(n)) throw new Error(`not an updatable person column: ${n}`);
  const sets = names.map((n, i) => `${n} = $${i + 5}`);
  const values = names.map((n) => {
    const v = columns[n];
    return v !== null && typeof v === 'object' && !(v instanceof Date) ? JSON.stringify(v) : v;
  });
  const { rows } = await q.query<{ version_id: number; updated_at: Date }>(
    `UPDATE persons SET ${[...sets, 'version_id = version_id + 1', 'updated_at = now()', 'updated_by = $3', 'last_update_system = $4'].join(', ')}
      WHERE tenant_id = $1 AND id = $2 RETURNING version_id, updated_at`,
    [tenantId, id, meta.updatedBy, meta.lastUpdateSystem, ...values],
  );
  return rows[0];
}

export async function setPersonArchived(
  q: Queryable,
  tenantId: string,
  id: string,
  archived: boolean,
): Promise<void> {
  await q.query('UPDATE person_identities SET person_archived = $3 WHERE tenant_id = $1 AND person_id = $2', [
    tenantId,
    id,
    archived,
  ]);
}
