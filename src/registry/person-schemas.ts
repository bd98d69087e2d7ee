import { type Static, Type } from 'typebox';
import { Body, DateOnly, DateTime, Nullable, PageQuery, ReasonFields, Uuid } from '../http/schemas.js';

const Code = (description: string, examples: string[]) =>
  Type.String({ minLength: 1, maxLength: 64, description, examples });

export const IdentityStatus = Type.Union([
  Type.Literal('active'),
  Type.Literal('expired'),
  Type.Literal('revoked'),
  Type.Literal('invalid'),
]);

export const IdentityInput = Body({
  identity_type: Code('code of the id-type vocabulary', ['national_id']),
  identity_number: Type.String({ minLength: 1, maxLength: 100, examples: ['19840101-1234'] }),
  expiry_date: Type.Optional(DateOnly()),
  status: Type.Optional(IdentityStatus),
  description: Type.Optional(Type.String({ maxLength: 500 })),
});
export type IdentityInput = Static<typeof IdentityInput>;

export const ContactInput = Body({
  type: Code('code of the contact-type vocabulary (phone, email, …)', ['phone']),
  value: Type.String({ minLength: 1, maxLength: 320, examples: ['+254712345678'] }),
  primary: Type.Optional(Type.Boolean()),
});
export type ContactInput = Static<typeof ContactInput>;

export const AddressSchema = Type.Object(
  {
    text: Type.Optional(Type.String({ maxLength: 1000 })),
    line: Type.Optional(Type.Array(Type.String({ maxLength: 300 }), { maxItems: 10 })),
    city: Type.Optional(Type.String({ maxLength: 200 })),
    district: Type.Optional(Type.String({ maxLength: 200 })),
    region: Type.Optional(Type.String({ maxLength: 200 })),
    postal_code: Type.Optional(Type.String({ maxLength: 40 })),
    country: Type.Optional(Type.String({ maxLength: 100 })),
  },
  { additionalProperties: false, description: 'structured address; `text` holds a free-form one' },
);
export type Address = Static<typeof AddressSchema>;

export const Extensions = Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{1,40}$' }), Type.Unknown(), {
  description: 'namespaced extension objects, each validated against its registered schema',
});

const personFields = {
  full_name: Type.String({ minLength: 1, maxLength: 300, examples: ['Amina Wanjiru Otieno'] }),
  given_name: Type.Optional(Type.String({ maxLength: 200 })),
  family_name: Type.Optional(Type.String({ maxLength: 200 })),
  additional_name: Type.Optional(Type.String({ maxLength: 200 })),
  date_of_birth: Type.Optional(DateOnly()),
  age_estimate: Type.Optional(
    Type.Integer({
      minimum: 0,
      maximum: 130,
      description: 'stored as an estimated birth date when the date is unknown',
    }),
  ),
  birth_date_estimated: Type.Optional(
    Type.Boolean({ description: 'with date_of_birth: the date is an estimate (default false)' }),
  ),
  gender: Code('code of the gender vocabulary (ISO/IEC 5218: 0, 1, 2, 9)', ['2']),
  identity_type: Type.Optional(Code('shorthand for one identity: type', ['national_id'])),
  identity_number: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  identities: Type.Optional(Type.Array(IdentityInput, { maxItems: 20 })),
  contacts: Type.Optional(Type.Array(ContactInput, { maxItems: 20 })),
  birth_place: Type.Optional(Type.String({ maxLength: 300 })),
  address: Type.Optional(AddressSchema),
  geo_id: Type.Optional(Uuid('geo area of the person')),
  household_id: Type.Optional(Uuid('household the person joins (as a member)')),
  extensions: Type.Optional(Extensions),
};

export const PersonCreate = Body({
  ...personFields,
  relationship_type: Type.Optional(
    Code('membership role when household_id is given (default member)', ['child']),
  ),
});
export type PersonCreate = Static<typeof PersonCreate>;

/** Fields that exist but may not be changed by PATCH: sending one is a 422 naming it. */
export const NOT_UPDATABLE = [
  'person_id',
  'system_guid',
  'status',
  'verification_status',
  'version_id',
  'created_at',
  'updated_at',
] as const;

export const PersonPatch = Body({
  full_name: Type.Optional(personFields.full_name),
  given_name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  family_name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  additional_name: Type.Optional(Nullable(Type.String({ maxLength: 200 }))),
  date_of_birth: Type.Optional(DateOnly()),
  age_estimate: personFields.age_estimate,
  birth_date_estimated: personFields.birth_date_estimated,
  gender: Type.Optional(personFields.gender),
  identities: personFields.identities,
  contacts: personFields.contacts,
  birth_place: Type.Optional(Nullable(Type.String({ maxLength: 300 }))),
  address: Type.Optional(Nullable(AddressSchema)),
  geo_id: Type.Optional(Nullable(Uuid())),
  extensions: personFields.extensions,
  ...Object.fromEntries(
    NOT_UPDATABLE.map((f) => [f, Type.Optional(Type.Unknown({ description: 'not updatable (422)' }))]),
  ),
});
export type PersonPatch = Static<typeof PersonPatch> &
  Partial<Record<(typeof NOT_UPDATABLE)[number], unknown>>;

export const Identity = Type.Object({
  identity_type: Type.String(),
  identity_number: Type.String(),
  system: Type.String({
    description: 'namespace URI of the identifier',
    examples: ['urn:hearth:vocab:id-type#national_id'],
  }),
  expiry_date: Nullable(Type.String()),
  status: Type.String(),
  description: Nullable(Type.String()),
});

export const Contact = Type.Object({ type: Type.String(), value: Type.String(), primary: Type.Boolean() });

export const Provenance = Type.Object({
  created_by: Nullable(Type.String()),
  source_system: Nullable(Type.String()),
  collection_method: Type.String(),
  recorded_at: DateTime(),
  updated_by: Nullable(Type.String()),
  last_update_system: Nullable(Type.String()),
});

export const PersonView = Type.Object({
  person_id: Uuid(),
  system_guid: Uuid(),
  full_name: Nullable(
    Type.String({ description: 'null only for a third party whose contract does not name it' }),
  ),
  given_name: Nullable(Type.String()),
  family_name: Nullable(Type.String()),
  additional_name: Nullable(Type.String()),
  date_of_birth: Nullable(Type.String()),
  birth_date_estimated: Nullable(Type.Boolean()),
  age_estimate: Nullable(Type.Integer()),
  gender: Nullable(Type.String()),
  identities: Type.Array(Identity),
  contacts: Type.Array(Contact),
  birth_place: Nullable(Type.String()),
  address: Nullable(AddressSchema),
  geo_id: Nullable(Type.String()),
  household_id: Nullable(Type.String()),
  extensions: Nullable(Extensions),
  verification_status: Nullable(Type.String({ enum: ['provisional', 'verified'] })),
  verified_by: Nullable(Type.String()),
  verified_at: Nullable(DateTime()),
  status: Type.String({ enum: ['active', 'archived'] }),
  archived_at: Nullable(DateTime()),
  version_id: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
  provenance: Nullable(Provenance),
  consent_status: Type.Optional(Type.String({ description: 'consent state for the caller’s verticals' })),
  masked_fields: Type.Array(Type.String(), {
    description: 'fields whose values are masked or withheld for this caller',
  }),
});
export type PersonView = Static<typeof PersonView>;

export const DuplicateCandidate = Type.Object({
  person_id: Uuid(),
  score: Type.Number({ minimum: 0, maximum: 1 }),
  reasons: Type.Array(Type.String({ examples: ['same_phone', 'similar_name_same_birth_date'] })),
});

export const PersonCreated = Type.Intersect([
  PersonView,
  Type.Object({ possible_duplicates: Type.Array(DuplicateCandidate) }),
]);

export const PersonUpdated = Type.Intersect([
  PersonView,
  Type.Object({ possible_duplicates: Type.Array(DuplicateCandidate) }),
]);

export const VerifyBody = Body({
  verification_status: Type.Optional(
    Type.Union([Type.Literal('verified'), Type.Literal('provisional')], { default: 'verified' }),
  ),
  verified_by: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  verified_at: Type.Optional(DateTime()),
});
export type VerifyBody = Static<typeof VerifyBody>;

export const ArchiveBody = Body({ ...ReasonFields });
export type ArchiveBody = Static<typeof ArchiveBody>;

export const RestoreBody = Body({
  reason_code: ReasonFields.reason_code,
  reason_text: ReasonFields.reason_text,
});
export type RestoreBody = Static<typeof RestoreBody>;

export const VersionEntry = Type.Object({
  version_id: Type.Integer(),
  changed_at: DateTime(),
  changed_by: Nullable(Type.String()),
  source_system: Nullable(Type.String()),
  change: Type.String({ examples: ['create', 'update', 'archive', 'restore', 'verify'] }),
  fields: Type.Array(Type.String()),
  old_values: Nullable(Type.Record(Type.String(), Type.Unknown())),
  new_values: Nullable(Type.Record(Type.String(), Type.Unknown())),
  reason_code: Nullable(Type.String()),
  reason_text: Nullable(Type.String()),
  masked_fields: Type.Array(Type.String()),
});

export const SearchCriteria = [
  'identity',
  'name',
  'phone',
  'email',
  'birth_date',
  'gender',
  'status',
  'verification_status',
] as const;

export const PersonSearchQuery = Type.Object(
  {
    ...PageQuery,
    criteria_id: Type.Optional(
      Type.String({ enum: [...SearchCriteria], description: 'what criteria_value is' }),
    ),
    criteria_value: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description:
          'identity: "number" or "type|number"; name: fuzzy; phone: any format; birth_date: YYYY-MM-DD',
      }),
    ),
    geo_id: Type.Optional(Uuid('area; its descendant areas are included')),
    lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
    lon: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
    radius_km: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 500 })),
    status: Type.Optional(Type.String({ enum: ['active', 'archived', 'all'], default: 'active' })),
  },
  { additionalProperties: false },
);
export type PersonSearchQuery = Static<typeof PersonSearchQuery>;

export const PersonSearchHit = Type.Intersect([
  PersonView,
  Type.Object({
    matched_fields: Type.Array(Type.String()),
    distance_km: Type.Optional(Type.Number()),
    position_source: Type.Optional(Type.String({ enum: ['household', 'geo_area_centroid'] })),
    score: Type.Optional(Type.Number()),
  }),
]);

export const SearchWarning = Type.Object({ code: Type.String(), message: Type.String() });
