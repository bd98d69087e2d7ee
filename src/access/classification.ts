export type Classification = 'basic' | 'personal' | 'sensitive';

/**
 * Default classification of person fields. `basic` fields are shown to every caller who may see
 * the person at all; `personal` ones need consent; `sensitive` ones also need `sensitive:read`.
 * Tenants may override entries (settings.field_classification).
 */
export const DEFAULT_PERSON_CLASSIFICATION: Record<string, Classification> = {
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
  'identities.identity_number': 'sensitive',
  contacts: 'sensitive',
};

/** Household fields that reveal an exact position. */
export const SENSITIVE_HOUSEHOLD_FIELDS = ['geo_lat', 'geo_lon', 'geo_accuracy', 'geo_captured_at'] as const;

export function classificationOf(
  field: string,
  overrides: Record<string, Classification> | undefined,
): Classification {
  return overrides?.[field] ?? DEFAULT_PERSON_CLASSIFICATION[field] ?? 'personal';
}

/** Keeps the last four characters visible: "19840101-1234" → "*********1234". */
export function maskValue(value: string): string {
  if (value.length <= 4) return '*'.repeat(value.length);
  return '*'.repeat(Math.min(value.length - 4, 12)) + value.slice(-4);
}
