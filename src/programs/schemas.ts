import { type Static, Type } from 'typebox';
import { Body, DateOnly, DateTime, Nullable, PageQuery, ReasonFields, Uuid } from '../http/schemas.js';
import { MEMBERSHIP_STATUSES } from './membership-states.js';

export const TARGET_TYPES = ['individual', 'group'] as const;
export type TargetType = (typeof TARGET_TYPES)[number];

export const PROGRAM_STATUSES = ['active', 'ended'] as const;
export type ProgramStatus = (typeof PROGRAM_STATUSES)[number];

export {
  MEMBERSHIP_STATUSES,
  MEMBERSHIP_TRANSITIONS,
  type MembershipStatus,
} from './membership-states.js';

export const ProgramIdentifier = Body({
  system: Type.String({
    minLength: 3,
    maxLength: 300,
    pattern: '^(urn:|https?://)\\S+$',
    description: 'namespace URI of the identifier',
    examples: ['urn:gov:ke:social-protection:programme'],
  }),
  value: Type.String({ minLength: 1, maxLength: 200 }),
});
export type ProgramIdentifier = Static<typeof ProgramIdentifier>;

export const Period = Body({
  start: Type.Optional(Nullable(DateOnly())),
  end: Type.Optional(Nullable(DateOnly())),
});

const Code = Type.String({
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$',
  examples: ['CT-OVC'],
  description: 'short code, unique in the tenant and never reused',
});

export const ProgramCreate = Body({
  name: Type.String({ minLength: 1, maxLength: 300, examples: ['Cash transfer for orphans'] }),
  code: Code,
  description: Type.Optional(Type.String({ maxLength: 4000 })),
  vertical_id: Uuid('vertical the programme belongs to'),
  target_type: Type.Enum(TARGET_TYPES, { description: 'who can be enrolled: persons or households' }),
  status: Type.Optional(Type.Enum(PROGRAM_STATUSES)),
  period: Type.Optional(Period),
  eligibility_criteria: Type.Optional(Type.String({ maxLength: 4000 })),
  identifiers: Type.Optional(Type.Array(ProgramIdentifier, { maxItems: 20 })),
});
export type ProgramCreate = Static<typeof ProgramCreate>;

/** Fields that exist but may not be changed by PATCH: sending one is a 422 naming it. */
export const PROGRAM_NOT_UPDATABLE = [
  'program_id',
  'code',
  'vertical_id',
  'target_type',
  'archived',
  'archived_at',
  'version_id',
  'created_at',
  'updated_at',
] as const;

export const ProgramPatch = Body({
  name: Type.Optional(ProgramCreate.properties.name),
  description: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))),
  status: Type.Optional(Type.Enum(PROGRAM_STATUSES)),
  period: Type.Optional(Period),
  eligibility_criteria: Type.Optional(Nullable(Type.String({ maxLength: 4000 }))),
  identifiers: Type.Optional(Type.Array(ProgramIdentifier, { maxItems: 20 })),
  ...Object.fromEntries(
    PROGRAM_NOT_UPDATABLE.map((f) => [
      f,
      Type.Optional(Type.Unknown({ description: 'not updatable (422)' })),
    ]),
  ),
});
export type ProgramPatch = Static<typeof ProgramPatch> &
  Partial<Record<(typeof PROGRAM_NOT_UPDATABLE)[number], unknown>>;

export const ProgramArchive = Body({ ...ReasonFields });
export type ProgramArchive = Static<typeof ProgramArchive>;

export const ProgramView = Type.Object({
  program_id: Uuid(),
  code: Type.String(),
  name: Type.String(),
  description: Nullable(Type.String()),
  vertical_id: Uuid(),
  vertical_code: Type.String(),
  target_type: Type.String({ enum: [...TARGET_TYPES] }),
  status: Type.String({ enum: [...PROGRAM_STATUSES] }),
  period: Type.Object({ start: Nullable(Type.String()), end: Nullable(Type.String()) }),
  eligibility_criteria: Nullable(Type.String()),
  identifiers: Type.Array(Type.Object({ system: Type.String(), value: Type.String() })),
  archived: Type.Boolean(),
  archived_at: Nullable(DateTime()),
  version_id: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
  created_by: Nullable(Type.String()),
  updated_by: Nullable(Type.String()),
  source_system: Nullable(Type.String()),
});
export type ProgramView = Static<typeof ProgramView>;

export const ProgramListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(Type.Enum(PROGRAM_STATUSES)),
    target_type: Type.Optional(Type.Enum(TARGET_TYPES)),
    vertical_id: Type.Optional(Uuid()),
    name: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'part of the name' })),
    include_archived: Type.Optional(Type.Boolean({ default: false })),
  },
  { additionalProperties: false },
);
export type ProgramListQuery = Static<typeof ProgramListQuery>;

export const MembershipCreate = Body({
  beneficiary: Uuid('a person (individual programmes) or a household (group programmes)'),
  status: Type.Optional(
    Type.Union([Type.Literal('draft'), Type.Literal('enrolled')], {
      default: 'draft',
      description: 'initial status',
    }),
  ),
  enrollment_date: Type.Optional(DateOnly('defaults to today when enrolled')),
});
export type MembershipCreate = Static<typeof MembershipCreate>;

export const MembershipChange = Body({
  status: Type.Enum(MEMBERSHIP_STATUSES, { description: 'new status; only legal transitions are accepted' }),
  enrollment_date: Type.Optional(DateOnly('when enrolling; defaults to today')),
  exit_date: Type.Optional(DateOnly('when exiting; defaults to today')),
  exit_reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
  reason_code: Type.Optional(ReasonFields.reason_code),
  reason_text: ReasonFields.reason_text,
});
export type MembershipChange = Static<typeof MembershipChange>;

export const MembershipView = Type.Object({
  membership_id: Uuid(),
  program_id: Uuid(),
  beneficiary: Uuid(),
  beneficiary_type: Type.String({ enum: ['person', 'household'] }),
  status: Type.String({ enum: [...MEMBERSHIP_STATUSES] }),
  enrollment_date: Nullable(Type.String()),
  exit_date: Nullable(Type.String()),
  exit_reason: Nullable(Type.String()),
  status_reason_code: Nullable(Type.String()),
  version_id: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type MembershipView = Static<typeof MembershipView>;

export const MembershipListQuery = Type.Object(
  {
    ...PageQuery,
    status: Type.Optional(Type.Enum(MEMBERSHIP_STATUSES)),
    beneficiary: Type.Optional(Uuid('a person or household id')),
  },
  { additionalProperties: false },
);
export type MembershipListQuery = Static<typeof MembershipListQuery>;
