/**
 * The field names a contract's `field_list` may name: a person's top-level fields, prefixed
 * `household.`, a household's, and the person's links (`memberships`, `relationships`). Pull projects records to these names and push accepts only them;
 * the registry module imports the same lists so the two never drift apart.
 */
export const PERSON_FIELDS = [
  'given_name',
  'family_name',
  'additional_name',
  'full_name',
  'date_of_birth',
  'age_estimate',
  'birth_date_estimated',
  'gender',
  'identities',
  'contacts',
  'birth_place',
  'address',
  'geo_id',
  'household_id',
  'extensions',
  'verification_status',
  'status',
  'system_guid',
  'person_id',
] as const;
export type PersonField = (typeof PERSON_FIELDS)[number];

export const HOUSEHOLD_FIELD_PREFIX = 'household.';

export const HOUSEHOLD_FIELDS = [
  'household.household_name',
  'household.leader_id',
  'household.geo_id',
  'household.address',
  'household.status',
  'household.geo_lat',
  'household.geo_lon',
  'household.geo_accuracy',
  'household.geo_captured_at',
  'household.group_kind',
  'household.extensions',
  'household.members',
] as const;
export type HouseholdField = (typeof HOUSEHOLD_FIELDS)[number];

/**
 * A pulled person's links, each a list: its open household memberships and its active family
 * relationships (docs/decisions/0030-data-exchange.md). Readable, never pushed.
 */
export const LINK_FIELDS = ['memberships', 'relationships'] as const;
export type LinkField = (typeof LINK_FIELDS)[number];

export const CONTRACT_FIELDS: readonly string[] = [...PERSON_FIELDS, ...HOUSEHOLD_FIELDS, ...LINK_FIELDS];

/** What a contract may share: a category must be listed for its fields to be exchanged. */
export const DATA_CATEGORIES = ['person', 'household', 'membership', 'relationship'] as const;
export type DataCategory = (typeof DATA_CATEGORIES)[number];

/** The category each link field needs. */
export const LINK_CATEGORY: Record<LinkField, DataCategory> = {
  memberships: 'membership',
  relationships: 'relationship',
};

export function isPersonField(name: string): name is PersonField {
  return (PERSON_FIELDS as readonly string[]).includes(name);
}

export function isHouseholdField(name: string): name is HouseholdField {
  return (HOUSEHOLD_FIELDS as readonly string[]).includes(name);
}

export function isLinkField(name: string): name is LinkField {
  return (LINK_FIELDS as readonly string[]).includes(name);
}

export function isContractField(name: string): boolean {
  return isPersonField(name) || isHouseholdField(name) || isLinkField(name);
}
