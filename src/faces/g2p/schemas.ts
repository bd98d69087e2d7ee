import { type Static, type TSchema, Type } from 'typebox';
import { Body, DateOnly, DateTime, Nullable, Uuid } from '../../http/schemas.js';

/** Optional and nullable: G2P clients (pydantic) send null for a field they have no value for. */
const Opt = <T extends TSchema>(schema: T) => Type.Optional(Nullable(schema));
const Text = (maxLength: number, description?: string) =>
  Type.String({ maxLength, ...(description ? { description } : {}) });

export const G2pIdIn = Body({
  id_type: Type.String({
    minLength: 1,
    maxLength: 100,
    description: 'code or display name of the id-type vocabulary, any case',
    examples: ['National ID', 'national_id'],
  }),
  value: Type.String({ minLength: 1, maxLength: 100 }),
  expiry_date: Opt(DateOnly()),
  status: Opt(Text(20, 'valid (= active), active, expired, revoked or invalid; default active')),
  description: Opt(Text(500)),
});
export type G2pIdIn = Static<typeof G2pIdIn>;

export const G2pPhoneIn = Body({
  phone_no: Type.String({ minLength: 1, maxLength: 40, examples: ['+254712345678'] }),
  date_collected: Opt(DateOnly('not in the future; checked but not stored (docs/decisions/0057)')),
});

const registrantFields = {
  name: Type.String({ maxLength: 300, description: 'required, not blank' }),
  ids: Opt(Type.Array(G2pIdIn, { maxItems: 20 })),
  registration_date: Opt(DateOnly('not in the future; default today')),
  phone_numbers: Opt(Type.Array(G2pPhoneIn, { maxItems: 20, description: 'the first one is primary' })),
  email: Opt(Text(320)),
  address: Opt(Text(1000)),
};

const individualFields = {
  ...registrantFields,
  given_name: Opt(Text(200)),
  addl_name: Opt(Text(200)),
  family_name: Opt(Text(200)),
  gender: Opt(
    Text(64, 'code or display name of the gender vocabulary (ISO/IEC 5218), any case: "2" or "Female"'),
  ),
  birthdate: Opt(DateOnly()),
  birth_place: Opt(Text(300)),
  image_1920: Opt(
    Type.String({
      description:
        'profile image as OpenSPP sends it (Odoo image_1920: base64). Accepted so such clients are not refused, ' +
        'but NOT stored and never returned: Hearth has no home for a person image yet (docs/decisions/0057). ' +
        'Bounded by the request body limit (HEARTH_BODY_LIMIT).',
    }),
  ),
  is_group: Type.Optional(Type.Literal(false)),
};

export const G2pIndividualIn = Body(individualFields, { description: 'an individual registrant' });
export type G2pIndividualIn = Static<typeof G2pIndividualIn>;

export const G2pMemberKind = Body({
  name: Type.String({ minLength: 1, maxLength: 64, description: 'membership-role code or display name' }),
});

export const G2pMemberIn = Body({
  ...individualFields,
  kind: Opt(
    Type.Array(G2pMemberKind, {
      maxItems: 1,
      description: 'the membership role (one; none means member). Exactly one member is the head.',
    }),
  ),
});
export type G2pMemberIn = Static<typeof G2pMemberIn>;

export const G2pGroupIn = Body({
  ...registrantFields,
  is_group: Type.Optional(Type.Literal(true)),
  kind: Opt(Text(64, 'code or display name of the group-kind vocabulary; default household')),
  is_partial_group: Opt(Type.Boolean()),
  members: Type.Array(G2pMemberIn, { minItems: 1, maxItems: 100 }),
});
export type G2pGroupIn = Static<typeof G2pGroupIn>;

export const G2pUpdateItem = Body({
  ...individualFields,
  name: Opt(Text(300, 'not blank when given')),
  updateId: Type.String({
    minLength: 1,
    maxLength: 100,
    description: 'public id of the individual, or with ?id_type= the value of one of its ids',
  }),
});
export type G2pUpdateItem = Static<typeof G2pUpdateItem>;

export const G2pUpdateIn = Type.Array(G2pUpdateItem, { minItems: 1, maxItems: 100 });

export const G2pGroupUpdateItem = Body({
  ...registrantFields,
  name: Opt(Text(300, 'not blank when given')),
  is_group: Type.Optional(Type.Literal(true)),
  kind: Opt(Text(64, 'code or display name of the group-kind vocabulary')),
  is_partial_group: Opt(Type.Boolean()),
  members: Opt(
    Type.Array(Type.Unknown(), {
      maxItems: 100,
      description:
        'not changed here: a non-empty list is refused (G2P-REQ-013); members are added and ended through ' +
        'the native API (POST /api/v1/households/{id}/members, …/members/{person_id}/end)',
    }),
  ),
  updateId: Type.String({ minLength: 1, maxLength: 100, description: 'public id of the group' }),
});
export type G2pGroupUpdateItem = Static<typeof G2pGroupUpdateItem>;

export const G2pGroupUpdateIn = Type.Array(G2pGroupUpdateItem, {
  minItems: 1,
  maxItems: 1,
  description:
    'a list like update_individual, of one group for now: the registry cannot yet update several households in ' +
    'one transaction, and this route never half-applies (docs/decisions/0068)',
});

export const G2pIdOut = Type.Object({
  id_type: Type.String({ description: 'display name of the id type', examples: ['National ID'] }),
  value: Type.String({ description: 'masked unless the caller may see identity numbers' }),
  expiry_date: Nullable(Type.String()),
  status: Type.String(),
  description: Nullable(Type.String()),
});

export const G2pPhoneOut = Type.Object({
  phone_no: Type.String(),
  phone_sanitized: Type.String(),
  date_collected: Nullable(Type.String()),
});

const registrantOut = {
  id: Uuid('public id (never a database id)'),
  name: Nullable(Type.String({ description: 'null when masked for the caller (named in masked_fields)' })),
  ids: Type.Array(G2pIdOut),
  registration_date: Nullable(Type.String()),
  phone_numbers: Type.Array(G2pPhoneOut),
  email: Nullable(Type.String()),
  address: Nullable(Type.String()),
  create_date: DateTime(),
  write_date: DateTime(),
  masked_fields: Type.Array(Type.String(), { description: 'fields masked or withheld for this caller' }),
};

export const G2pIndividualOut = Type.Object({
  ...registrantOut,
  given_name: Nullable(Type.String()),
  addl_name: Nullable(Type.String()),
  family_name: Nullable(Type.String()),
  gender: Nullable(Type.String({ description: 'display name', examples: ['Female'] })),
  birthdate: Nullable(Type.String()),
  age: Nullable(Type.String()),
  birth_place: Nullable(Type.String()),
  is_group: Type.Literal(false),
});
export type G2pIndividualOut = Static<typeof G2pIndividualOut>;

export const G2pMemberOut = Type.Object({
  id: Uuid('public id of the membership'),
  individual: G2pIndividualOut,
  kind: Type.Array(Type.Object({ name: Type.String({ examples: ['Head of household'] }) })),
  create_date: Nullable(Type.String({ description: 'date the membership took effect' })),
  write_date: Nullable(Type.String()),
});
export type G2pMemberOut = Static<typeof G2pMemberOut>;

export const G2pGroupOut = Type.Object({
  ...registrantOut,
  is_group: Type.Literal(true),
  kind: Nullable(Type.String({ description: 'display name', examples: ['Household'] })),
  is_partial_group: Nullable(Type.Boolean()),
  member_count: Nullable(Type.Integer()),
  members: Type.Optional(Type.Array(G2pMemberOut)),
});
export type G2pGroupOut = Static<typeof G2pGroupOut>;

export const IdParams = Type.Object({ id: Uuid('public id') });

const paging = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 50 })),
  cursor: Type.Optional(
    Type.String({ maxLength: 512, description: 'X-Next-Cursor of the previous page (more results)' }),
  ),
};

export const IndividualQuery = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'part of the name' })),
    _id: Type.Optional(Uuid('public id')),
    ...paging,
  },
  { additionalProperties: false },
);

export const GroupQuery = Type.Object(
  {
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'part of the name' })),
    _id: Type.Optional(Uuid('public id')),
    include_members_full: Type.Optional(Type.Boolean({ default: false })),
    ...paging,
  },
  { additionalProperties: false },
);

export const NoQuery = Type.Object({}, { additionalProperties: false });

export const UpdateQuery = Type.Object(
  {
    id_type: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 100,
        description: 'updateId is the value of an id of this type (an exact identifier the caller holds)',
      }),
    ),
  },
  { additionalProperties: false },
);
