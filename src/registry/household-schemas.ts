import { type Static, Type } from 'typebox';
import { Body, DateOnly, DateTime, Nullable, PageQuery, ReasonFields, Uuid } from '../http/schemas.js';
import { AddressSchema, Extensions, Provenance } from './person-schemas.js';

const Lat = Type.Number({ minimum: -90, maximum: 90 });
const Lon = Type.Number({ minimum: -180, maximum: 180 });
const Status = Type.Union([Type.Literal('provisional'), Type.Literal('verified')]);
/** A household's status while not archived; `active` is not one (docs/decisions/0008-household-status.md). */
const HouseholdStatus = Type.Union([Type.Literal('provisional'), Type.Literal('verified')], {
  description: 'provisional (the default) or verified; a household becomes archived only through archive',
});

export const HouseholdCreate = Body({
  household_name: Type.String({ minLength: 1, maxLength: 300, examples: ['Otieno household'] }),
  leader_id: Uuid('a person of the same tenant; becomes a member with role head'),
  geo_id: Type.Optional(Uuid()),
  address: Type.Optional(AddressSchema),
  status: Type.Optional(HouseholdStatus),
  geo_lat: Type.Optional(Lat),
  geo_lon: Type.Optional(Lon),
  geo_accuracy: Type.Optional(Type.Number({ minimum: 0, maximum: 100000, description: 'metres' })),
  geo_captured_at: Type.Optional(DateTime()),
  group_kind: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'code of the group-kind vocabulary' }),
  ),
  extensions: Type.Optional(Extensions),
});
export type HouseholdCreate = Static<typeof HouseholdCreate>;

export const HOUSEHOLD_NOT_UPDATABLE = [
  'household_id',
  'version_id',
  'created_at',
  'updated_at',
  'member_count',
] as const;

export const HouseholdPatch = Body({
  household_name: Type.Optional(HouseholdCreate.properties.household_name),
  leader_id: Type.Optional(Uuid()),
  geo_id: Type.Optional(Nullable(Uuid())),
  address: Type.Optional(Nullable(AddressSchema)),
  status: Type.Optional(HouseholdStatus),
  geo_lat: Type.Optional(Nullable(Lat)),
  geo_lon: Type.Optional(Nullable(Lon)),
  geo_accuracy: Type.Optional(Nullable(Type.Number({ minimum: 0, maximum: 100000 }))),
  geo_captured_at: Type.Optional(Nullable(DateTime())),
  group_kind: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  extensions: Type.Optional(Extensions),
  ...Object.fromEntries(
    HOUSEHOLD_NOT_UPDATABLE.map((f) => [
      f,
      Type.Optional(Type.Unknown({ description: 'not updatable (422)' })),
    ]),
  ),
});
export type HouseholdPatch = Static<typeof HouseholdPatch> &
  Partial<Record<(typeof HOUSEHOLD_NOT_UPDATABLE)[number], unknown>>;

export const HouseholdView = Type.Object({
  household_id: Uuid(),
  household_name: Nullable(
    Type.String({ description: 'null only for a third party whose contract does not name it' }),
  ),
  leader_id: Uuid(),
  geo_id: Nullable(Type.String()),
  address: Nullable(AddressSchema),
  status: Type.String({ enum: ['provisional', 'verified', 'archived'] }),
  geo_lat: Nullable(Type.Number()),
  geo_lon: Nullable(Type.Number()),
  geo_accuracy: Nullable(Type.Number()),
  geo_captured_at: Nullable(DateTime()),
  group_kind: Type.String(),
  extensions: Nullable(Extensions),
  member_count: Nullable(Type.Integer()),
  archived_at: Nullable(DateTime()),
  version_id: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
  provenance: Nullable(Provenance),
  masked_fields: Type.Array(Type.String()),
});
export type HouseholdView = Static<typeof HouseholdView>;

export const MemberAdd = Body({
  person_id: Uuid(),
  relationship_type: Type.String({
    minLength: 1,
    maxLength: 64,
    description: 'code of the membership-role vocabulary',
  }),
  effective_from: DateOnly(),
  effective_until: Type.Optional(DateOnly()),
  verification_status: Type.Optional(Status),
});
export type MemberAdd = Static<typeof MemberAdd>;

export const MemberEnd = Body({
  effective_until: DateOnly(),
  reason_code: ReasonFields.reason_code,
  reason_text: ReasonFields.reason_text,
});
export type MemberEnd = Static<typeof MemberEnd>;

export const Membership = Type.Object({
  membership_id: Uuid(),
  household_id: Uuid(),
  person_id: Uuid(),
  relationship_type: Type.String(),
  effective_from: Type.String(),
  effective_until: Nullable(Type.String()),
  verification_status: Type.String(),
  ended_at: Nullable(DateTime()),
  end_reason_code: Nullable(Type.String()),
  version_id: Type.Integer(),
});
export type Membership = Static<typeof Membership>;

export const HouseholdSearchQuery = Type.Object(
  {
    ...PageQuery,
    geo_id: Type.Optional(Uuid('area; its descendant areas are included')),
    lat: Type.Optional(Lat),
    lon: Type.Optional(Lon),
    radius_km: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 500 })),
    status: Type.Optional(
      Type.String({ enum: ['provisional', 'verified', 'archived', 'active', 'all'], default: 'active' }),
    ),
  },
  { additionalProperties: false },
);
export type HouseholdSearchQuery = Static<typeof HouseholdSearchQuery>;

export const HouseholdSearchHit = Type.Intersect([
  HouseholdView,
  Type.Object({
    matched_fields: Type.Array(Type.String()),
    distance_km: Type.Optional(Type.Number()),
    position_source: Type.Optional(Type.String({ enum: ['household', 'geo_area_centroid'] })),
  }),
]);
