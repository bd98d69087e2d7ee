export type Classification = 'basic' | 'personal' | 'sensitive';

/**
 * Default classification of the fields a reader may see. `basic` fields are shown to every
 * caller who may see the person at all; what staff see of `personal` and `sensitive` ones is the
 * role table (role-access.ts); third parties see their contract's field_list instead.
 * Household fields are named `household.<field>` (as in contract field lists); a household is
 * seen through its head's decision. Tenants may override every key
 * (settings.field_classification, `PUT /api/v1/access-policy`).
 */
export const DEFAULT_CLASSIFICATION = {
  person_id: 'basic',
  system_guid: 'basic',
  full_name: 'basic',
  status: 'basic',
  verification_status: 'basic',
  version_id: 'basic',
  created_at: 'basic',
  updated_at: 'basic',
  given_name: 'personal',
  family_name: 'personal',
  additional_name: 'personal',
  date_of_birth: 'personal',
  birth_date_estimated: 'personal',
  age_estimate: 'personal',
  gender: 'personal',
  birth_place: 'personal',
  address: 'personal',
  geo_id: 'personal',
  household_id: 'personal',
  extensions: 'personal',
  identities: 'personal',
  provenance: 'personal',
  verified_by: 'personal',
  verified_at: 'personal',
  archived_at: 'personal',
  memberships: 'personal',
  relationships: 'personal',
  'identities.identity_number': 'sensitive',
  contacts: 'sensitive',
  /** A radius search locates a person: as sensitive as the household's exact position. */
  position: 'sensitive',
  'household.household_name': 'basic',
  'household.leader_id': 'basic',
  'household.status': 'basic',
  'household.group_kind': 'basic',
  'household.member_count': 'basic',
  'household.members': 'basic',
  'household.geo_id': 'personal',
  'household.address': 'personal',
  'household.extensions': 'personal',
  'household.provenance': 'personal',
  'household.geo_lat': 'sensitive',
  'household.geo_lon': 'sensitive',
  'household.geo_accuracy': 'sensitive',
  'household.geo_captured_at': 'sensitive',
} as const satisfies Record<string, Classification>;

export type ClassifiedField = keyof typeof DEFAULT_CLASSIFICATION;
export const CLASSIFIED_FIELDS = Object.keys(DEFAULT_CLASSIFICATION) as ClassifiedField[];

/** The tenant's overrides of the default classification (settings.field_classification). */
export type Overrides = Partial<Record<string, Classification>> | undefined;

/**
 * Record keys every reader who may see a person gets, contract or not: its ids, version and
 * lifecycle. They identify the record; they say nothing about the person.
 */
export const RECORD_KEYS: ReadonlySet<string> = new Set([
  'person_id',
  'system_guid',
  'version_id',
  'status',
  'created_at',
  'updated_at',
  'household.household_id',
  'household.leader_id',
  'household.group_kind',
  'household.version_id',
  'household.status',
  'household.created_at',
  'household.updated_at',
]);

export function classificationOf(field: string, overrides: Overrides): Classification {
  return (
    overrides?.[field] ?? (DEFAULT_CLASSIFICATION as Record<string, Classification>)[field] ?? 'personal'
  );
}

/** Keeps the last four characters visible: "19840101-1234" → "*********1234". */
export function maskValue(value: string): string {
  if (value.length <= 4) return '*'.repeat(value.length);
  return '*'.repeat(Math.min(value.length - 4, 12)) + value.slice(-4);
}
