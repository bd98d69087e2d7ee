/**
 * The allow-list of DCI query and sort attributes (docs/decisions/0063-dci-queries.md). An
 * attribute name from a request is only ever a key into this list: its value type, which
 * operators it takes, which record entity it applies to and which person field it reveals (for
 * the consent-and-masking decision). The SQL for each lives in search-repo.ts, chosen by a switch
 * over these names; no request text ever becomes SQL.
 */

export type Entity = 'Member' | 'Group';
export type Op = 'eq' | 'ne' | 'lt' | 'le' | 'gt' | 'ge' | 'in';
export type ValueType = 'int' | 'number' | 'date' | 'datetime' | 'sex' | 'text' | 'geo' | 'group_type';

export const ATTRIBUTE_NAMES = [
  'age',
  'birth_date',
  'sex',
  'given_name',
  'surname',
  'second_name',
  'name',
  'poverty_score',
  'group_size',
  'location',
  'registration_date',
  'last_updated',
  'group_type',
] as const;
export type AttributeName = (typeof ATTRIBUTE_NAMES)[number];

export interface AttributeDef {
  type: ValueType;
  entities: readonly Entity[];
  /** Person field (classification key) a criterion on it matches on. */
  field: string;
  /** May be used in `sort`. */
  sortable: boolean;
}

const ORDERED: readonly Op[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in'];
const EQUALITY: readonly Op[] = ['eq', 'ne', 'in'];

export const ATTRIBUTES: Readonly<Record<AttributeName, AttributeDef>> = {
  age: { type: 'int', entities: ['Member'], field: 'date_of_birth', sortable: true },
  birth_date: { type: 'date', entities: ['Member'], field: 'date_of_birth', sortable: true },
  sex: { type: 'sex', entities: ['Member'], field: 'gender', sortable: false },
  given_name: { type: 'text', entities: ['Member'], field: 'given_name', sortable: true },
  surname: { type: 'text', entities: ['Member'], field: 'family_name', sortable: true },
  second_name: { type: 'text', entities: ['Member'], field: 'additional_name', sortable: true },
  name: { type: 'text', entities: ['Member'], field: 'full_name', sortable: true },
  poverty_score: { type: 'number', entities: ['Member', 'Group'], field: 'extensions', sortable: true },
  group_size: { type: 'int', entities: ['Member', 'Group'], field: 'household_id', sortable: true },
  location: { type: 'geo', entities: ['Member', 'Group'], field: 'geo_id', sortable: false },
  registration_date: { type: 'datetime', entities: ['Member', 'Group'], field: 'created_at', sortable: true },
  last_updated: { type: 'datetime', entities: ['Member', 'Group'], field: 'updated_at', sortable: true },
  group_type: { type: 'group_type', entities: ['Group'], field: 'household_id', sortable: false },
};

/** Other spellings clients use for the same attributes. */
const ALIASES: Readonly<Record<string, AttributeName>> = {
  gender: 'sex',
  family_name: 'surname',
  first_name: 'given_name',
  full_name: 'name',
  dob: 'birth_date',
  date_of_birth: 'birth_date',
  birthdate: 'birth_date',
  geo_area: 'location',
  area: 'location',
  region: 'location',
  household_size: 'group_size',
  created_at: 'registration_date',
  updated_at: 'last_updated',
  last_update: 'last_updated',
};

export function attributeOf(name: string): AttributeName | null {
  const key = name.trim().toLowerCase();
  if ((ATTRIBUTE_NAMES as readonly string[]).includes(key)) return key as AttributeName;
  return Object.hasOwn(ALIASES, key) ? ALIASES[key] : null;
}

export function opsOf(type: ValueType): readonly Op[] {
  return type === 'sex' || type === 'text' || type === 'geo' || type === 'group_type' ? EQUALITY : ORDERED;
}

/** DCI sex codes ↔ Hearth gender codes (ISO/IEC 5218). */
export const SEX_TO_GENDER: Readonly<Record<string, string>> = {
  male: '1',
  m: '1',
  female: '2',
  f: '2',
  unknown: '0',
  other: '9',
};
export const GENDER_TO_SEX: Readonly<Record<string, 'male' | 'female' | 'other' | 'unknown'>> = {
  '1': 'male',
  '2': 'female',
  '0': 'unknown',
  '9': 'other',
};

/** DCI AssistanceUnit codes ↔ Hearth group kinds. */
export const GROUP_TYPE_TO_KIND: Readonly<Record<string, string>> = { '2': 'household', '3': 'family' };
export const KIND_TO_GROUP_TYPE: Readonly<Record<string, string>> = { household: '2', family: '3' };
