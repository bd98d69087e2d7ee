import { type Static, type TSchema, Type } from 'typebox';
import { Body, DateOnly, Nullable } from '../../http/schemas.js';

/** OpenSPP API V2 resource shapes (camelCase, never a database id). */

const Opt = <T extends TSchema>(s: T) => Type.Optional(Nullable(s));
const Text = (max = 300) => Type.String({ maxLength: max });

export const PeriodSchema = Body({ start: Opt(DateOnly()), end: Opt(DateOnly()) });
export type PeriodIn = Static<typeof PeriodSchema>;

export const IdentifierIn = Body({
  system: Type.String({ minLength: 1, maxLength: 300, examples: ['urn:hearth:vocab:id-type#national_id'] }),
  value: Type.String({ minLength: 1, maxLength: 200 }),
  period: Opt(PeriodSchema),
});
export type IdentifierIn = Static<typeof IdentifierIn>;

export const CodingIn = Body({
  system: Type.Optional(Text()),
  code: Type.String({ minLength: 1, maxLength: 64 }),
  display: Opt(Text()),
});
export const CodeableConceptIn = Body({
  coding: Type.Optional(Type.Array(CodingIn, { maxItems: 10 })),
  text: Opt(Text()),
});
export type CodeableConceptIn = Static<typeof CodeableConceptIn>;

export const ReferenceIn = Body({
  reference: Type.String({
    minLength: 1,
    maxLength: 700,
    examples: ['Individual/urn:hearth:id:person|0190…'],
  }),
  display: Opt(Text()),
  type: Type.Optional(Text(64)),
});
/** A reference object, or its `reference` string alone. */
export const RefIn = Type.Union([ReferenceIn, Type.String({ minLength: 1, maxLength: 700 })]);
export type RefIn = Static<typeof RefIn>;

export const HumanNameIn = Body({
  text: Opt(Type.String({ minLength: 1, maxLength: 300 })),
  family: Opt(Text(200)),
  given: Opt(Type.Union([Text(200), Type.Array(Text(200), { maxItems: 5 })])),
  middle: Opt(Text(200)),
  prefix: Opt(Text(50)),
  suffix: Opt(Text(50)),
});
export type HumanNameIn = Static<typeof HumanNameIn>;

export const ContactPointIn = Body({
  system: Type.Enum(['phone', 'sms', 'email', 'whatsapp', 'other']),
  value: Type.String({ minLength: 1, maxLength: 320 }),
  use: Opt(Type.Enum(['home', 'work', 'mobile', 'temp', 'old'])),
  rank: Opt(Type.Integer({ minimum: 1, maximum: 100 })),
});
export type ContactPointIn = Static<typeof ContactPointIn>;

export const AddressIn = Body({
  type: Opt(Type.Enum(['physical', 'postal', 'both'])),
  use: Opt(Text(20)),
  text: Opt(Text(1000)),
  line: Opt(Type.Array(Text(300), { maxItems: 10 })),
  city: Opt(Text(200)),
  district: Opt(Text(200)),
  state: Opt(Text(200)),
  postalCode: Opt(Text(40)),
  country: Opt(Text(100)),
});
export type AddressIn = Static<typeof AddressIn>;

const ExtensionIn = Type.Record(Type.String({ pattern: '^[a-z][a-z0-9_]{1,40}$' }), Type.Unknown());

/** Members that clients may echo back unchanged; changing them is refused where it applies. */
const ReadOnly = Type.Optional(Type.Unknown({ description: 'read-only; echoed values are accepted' }));

export const individualFields = {
  type: Type.Optional(Type.Literal('Individual')),
  resourceType: Type.Optional(Type.Literal('Individual')),
  identifier: Type.Array(IdentifierIn, { minItems: 1, maxItems: 20 }),
  active: Type.Optional(Type.Boolean()),
  name: Opt(HumanNameIn),
  birthDate: Opt(DateOnly()),
  birthDateEstimated: Opt(Type.Boolean()),
  gender: Opt(CodeableConceptIn),
  telecom: Opt(Type.Array(ContactPointIn, { maxItems: 20 })),
  address: Opt(Type.Array(AddressIn, { maxItems: 1, description: 'at most one address is kept' })),
  groupMembership: ReadOnly,
  extension: Opt(ExtensionIn),
  meta: ReadOnly,
};
export const IndividualIn = Body(individualFields);
export type IndividualIn = Static<typeof IndividualIn>;

/** A JSON Merge Patch (RFC 7396) of an Individual: the result is validated as an Individual. */
export const IndividualPatchIn = Body(
  Object.fromEntries(Object.keys(individualFields).map((k) => [k, Type.Optional(Type.Unknown())])),
  { description: 'JSON Merge Patch (RFC 7396): null removes a member; arrays replace' },
);

export const GroupMemberIn = Body({
  entity: RefIn,
  role: Opt(Type.Union([CodeableConceptIn, Type.String({ minLength: 1, maxLength: 64 })])),
  period: Opt(PeriodSchema),
  inactive: Opt(Type.Boolean()),
});
export type GroupMemberIn = Static<typeof GroupMemberIn>;

export const groupFields = {
  type: Type.Optional(Type.Literal('Group')),
  resourceType: Type.Optional(Type.Literal('Group')),
  identifier: Type.Array(IdentifierIn, { minItems: 1, maxItems: 20 }),
  active: Type.Optional(Type.Boolean()),
  groupType: Opt(
    Type.String({ minLength: 1, maxLength: 64, description: 'code of the group-kind vocabulary' }),
  ),
  name: Type.String({ minLength: 1, maxLength: 300 }),
  quantity: ReadOnly,
  member: Opt(Type.Array(GroupMemberIn, { maxItems: 100 })),
  address: Opt(Type.Array(AddressIn, { maxItems: 1 })),
  extension: Opt(ExtensionIn),
  meta: ReadOnly,
};
export const GroupIn = Body(groupFields);
export type GroupIn = Static<typeof GroupIn>;
export const GroupPatchIn = Body(
  Object.fromEntries(Object.keys(groupFields).map((k) => [k, Type.Optional(Type.Unknown())])),
  { description: 'JSON Merge Patch (RFC 7396) of a Group' },
);

export const AddMemberIn = Body({
  entity: RefIn,
  role: Opt(Type.Union([CodeableConceptIn, Type.String({ minLength: 1, maxLength: 64 })])),
  startDate: Opt(DateOnly()),
});
export type AddMemberIn = Static<typeof AddMemberIn>;

export const RemoveMemberIn = Body({
  entity: RefIn,
  endedDate: Opt(DateOnly()),
  reason: Opt(
    Type.String({
      minLength: 1,
      maxLength: 2000,
      description: 'free text (recorded with reason code OTHER)',
    }),
  ),
  reasonCode: Type.Optional(
    Type.String({ minLength: 1, maxLength: 64, description: 'a generic reason code' }),
  ),
});
export type RemoveMemberIn = Static<typeof RemoveMemberIn>;

export const ProgramMembershipIn = Body({
  type: Type.Optional(Type.Literal('ProgramMembership')),
  resourceType: Type.Optional(Type.Literal('ProgramMembership')),
  program: RefIn,
  beneficiary: RefIn,
  status: Type.Optional(Type.Enum(['draft', 'enrolled', 'paused', 'exited', 'not_eligible', 'duplicated'])),
  enrollmentDate: Opt(DateOnly()),
  exitDate: Opt(DateOnly()),
  exitReason: Opt(Type.String({ minLength: 1, maxLength: 2000 })),
  identifier: ReadOnly,
  meta: ReadOnly,
});
export type ProgramMembershipIn = Static<typeof ProgramMembershipIn>;

// ---- responses -------------------------------------------------------------------------------

const PeriodOut = Type.Object({ start: Type.Optional(Type.String()), end: Type.Optional(Type.String()) });
const IdentifierOut = Type.Object({
  system: Type.String(),
  value: Type.String(),
  period: Type.Optional(PeriodOut),
});
const CodeableConceptOut = Type.Object({
  coding: Type.Array(
    Type.Object({ system: Type.String(), code: Type.String(), display: Type.Optional(Type.String()) }),
  ),
  text: Type.Optional(Type.String()),
});
const ReferenceOut = Type.Object({ reference: Type.String(), display: Type.Optional(Type.String()) });
/** meta of every V2 resource (named, so the document refers to it once). */
export const MetaOut = Type.Object({
  versionId: Type.String(),
  lastUpdated: Type.String(),
  source: Nullable(
    Type.String({
      description:
        'the system of the last write: its X-Source-System, else the client’s configured source, else urn:hearth:api-client:{client_id}',
    }),
  ),
  security: Type.Optional(
    Type.Array(Type.Object({ system: Type.String(), code: Type.String(), display: Type.String() }), {
      description:
        'FHIR security label REDACTED (v3-ObservationValue) when elements are masked for the caller',
    }),
  ),
  masked: Type.Optional(
    Type.Array(Type.String(), {
      description:
        'Hearth extension of meta: the elements masked or withheld for this caller (absent or partly masked ' +
        'in the resource), e.g. identifier, telecom, birthDate (docs/decisions/0012-access-policy.md)',
    }),
  ),
});
const AddressOut = Type.Object({
  text: Type.Optional(Type.String()),
  line: Type.Optional(Type.Array(Type.String())),
  city: Type.Optional(Type.String()),
  district: Type.Optional(Type.String()),
  state: Type.Optional(Type.String()),
  postalCode: Type.Optional(Type.String()),
  country: Type.Optional(Type.String()),
});
const ExtensionOut = Type.Record(Type.String(), Type.Unknown());

export const IndividualOut = Type.Object({
  type: Type.Literal('Individual'),
  identifier: Type.Array(IdentifierOut),
  active: Type.Boolean(),
  name: Type.Optional(
    Type.Object({
      text: Type.Optional(Type.String()),
      family: Type.Optional(Type.String()),
      given: Type.Optional(Type.Array(Type.String())),
      middle: Type.Optional(Type.String()),
    }),
  ),
  birthDate: Type.Optional(Type.String()),
  birthDateEstimated: Type.Optional(Type.Boolean()),
  gender: Type.Optional(CodeableConceptOut),
  telecom: Type.Optional(
    Type.Array(Type.Object({ system: Type.String(), value: Type.String(), rank: Type.Integer() })),
  ),
  address: Type.Optional(Type.Array(AddressOut)),
  groupMembership: Type.Optional(
    Type.Array(
      Type.Object({ group: ReferenceOut, role: Type.Optional(CodeableConceptOut), period: PeriodOut }),
    ),
  ),
  extension: Type.Optional(ExtensionOut),
  meta: MetaOut,
});
export type IndividualOut = Static<typeof IndividualOut>;

export const GroupMemberOut = Type.Object({
  entity: ReferenceOut,
  role: Type.Optional(CodeableConceptOut),
  period: PeriodOut,
  inactive: Type.Boolean(),
});

export const GroupOut = Type.Object({
  type: Type.Literal('Group'),
  identifier: Type.Array(IdentifierOut),
  active: Type.Boolean(),
  groupType: Type.String(),
  name: Type.Optional(Type.String({ description: 'absent when masked for the caller (see meta)' })),
  quantity: Type.Integer(),
  member: Type.Array(GroupMemberOut),
  address: Type.Optional(Type.Array(AddressOut)),
  extension: Type.Optional(ExtensionOut),
  meta: MetaOut,
});
export type GroupOut = Static<typeof GroupOut>;

export const GroupMemberOpOut = Type.Object({
  type: Type.Literal('GroupMember'),
  group: ReferenceOut,
  entity: ReferenceOut,
  role: Type.Optional(CodeableConceptOut),
  startDate: Type.String(),
  endedDate: Nullable(Type.String()),
  status: Type.Enum(['active', 'inactive']),
});
export type GroupMemberOpOut = Static<typeof GroupMemberOpOut>;

export const GroupMembershipListOut = Type.Object({
  type: Type.Literal('GroupMembershipList'),
  total: Type.Integer(),
  entry: Type.Array(Type.Object({ resource: GroupMemberOpOut })),
});

export const ProgramOut = Type.Object({
  type: Type.Literal('Program'),
  identifier: Type.Array(IdentifierOut),
  active: Type.Boolean(),
  name: Type.String(),
  description: Type.Optional(Type.String()),
  programType: Type.String({ description: 'code of the programme’s vertical' }),
  targetType: Type.Enum(['individual', 'group']),
  status: Type.Enum(['active', 'ended']),
  eligibilityCriteria: Type.Optional(Type.String()),
  period: PeriodOut,
  meta: MetaOut,
});
export type ProgramOut = Static<typeof ProgramOut>;

export const ProgramMembershipOut = Type.Object({
  type: Type.Literal('ProgramMembership'),
  identifier: Type.Array(IdentifierOut),
  program: ReferenceOut,
  beneficiary: ReferenceOut,
  status: Type.String(),
  enrollmentDate: Type.Optional(Type.String()),
  exitDate: Type.Optional(Type.String()),
  exitReason: Type.Optional(Type.String()),
  meta: MetaOut,
});
export type ProgramMembershipOut = Static<typeof ProgramMembershipOut>;

export function SearchResult<T extends TSchema>(item: T) {
  return Type.Object({
    data: Type.Array(item),
    meta: Type.Object({ total: Type.Integer(), count: Type.Integer(), offset: Type.Integer() }),
    links: Type.Object({ self: Type.String(), next: Nullable(Type.String()), prev: Nullable(Type.String()) }),
  });
}

export const BundleIn = Body({
  resourceType: Type.Optional(Type.Literal('Bundle')),
  type: Type.Enum(['transaction', 'batch']),
  entry: Type.Array(
    Body({
      fullUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      request: Body({
        method: Type.Enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
        url: Type.String({ minLength: 1, maxLength: 700 }),
        ifMatch: Type.Optional(Type.String({ maxLength: 40 })),
      }),
      resource: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
    { minItems: 1, maxItems: 100 },
  ),
});
export type BundleIn = Static<typeof BundleIn>;

export const BundleOut = Type.Object({
  resourceType: Type.Literal('Bundle'),
  type: Type.Enum(['transaction-response', 'batch-response']),
  entry: Type.Array(
    Type.Object({
      fullUrl: Type.Optional(Type.String()),
      response: Type.Object({
        status: Type.String({ examples: ['201 Created'] }),
        location: Type.Optional(Type.String()),
        etag: Type.Optional(Type.String()),
        outcome: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
      }),
      resource: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    }),
  ),
});
export type BundleOut = Static<typeof BundleOut>;

/** The paging parameters of every V2 search (`_count` ≤ 100, `_offset`), as OpenSPP names them. */
export const PagingParams = {
  _count: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 })),
  _offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 10000, default: 0 })),
};

/** `_lastUpdated` with up to two prefixed dates (a range), for the registrant searches. */
export const LastUpdatedParam = {
  _lastUpdated: Type.Optional(Type.Array(Type.String({ maxLength: 40 }), { maxItems: 2 })),
};
