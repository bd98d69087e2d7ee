import { type Static, Type } from 'typebox';
import { CLASSIFIED_FIELDS, DEFAULT_CLASSIFICATION } from '../access/classification.js';
import { DEFAULT_ROLE_ACCESS, STAFF_ROLES } from '../access/role-access.js';
import { Body, DateTime, Uuid } from '../http/schemas.js';

export const Classification = Type.Union([
  Type.Literal('basic'),
  Type.Literal('personal'),
  Type.Literal('sensitive'),
]);

/** Every field a tenant may reclassify, each listed with its default (OpenAPI shows them all once). */
export const FieldClassificationOverrides = Type.Object(
  Object.fromEntries(
    CLASSIFIED_FIELDS.map((f) => [
      f,
      Type.Optional(
        Type.Union(Classification.anyOf, { description: `default ${DEFAULT_CLASSIFICATION[f]}` }),
      ),
    ]),
  ),
  {
    additionalProperties: false,
    description:
      'overrides of the default classification of person fields (household fields as household.<field>); ' +
      'staff see each classification as the role table says, third parties see their contract fields',
  },
);

const Stage = Type.Union([Type.Literal('registration'), Type.Literal('consent'), Type.Literal('never')], {
  description:
    'registration: while no consent of the reader’s verticals is decided yet and under consent; ' +
    'consent: only under an active (or grace) consent; never: always masked',
});

/** The role × classification table: when each staff role sees personal and sensitive fields. */
export const RoleFieldAccessOverrides = Type.Object(
  Object.fromEntries(
    STAFF_ROLES.map((role) => [
      role,
      Type.Optional(
        Type.Object(
          {
            personal: Type.Optional(Stage),
            sensitive: Type.Optional(Stage),
          },
          {
            additionalProperties: false,
            description: `default personal: ${DEFAULT_ROLE_ACCESS[role].personal}, sensitive: ${DEFAULT_ROLE_ACCESS[role].sensitive}`,
          },
        ),
      ),
    ]),
  ),
  {
    additionalProperties: false,
    description: 'overrides of the role × classification table (basic fields are always shown)',
  },
);

export const AccessPolicyPatch = Body({
  field_classification: Type.Optional(FieldClassificationOverrides),
  role_field_access: Type.Optional(RoleFieldAccessOverrides),
  separation_of_duties: Type.Optional(Type.Boolean()),
});
export type AccessPolicyPatch = Static<typeof AccessPolicyPatch>;

const StageOut = Type.String({ enum: ['registration', 'consent', 'never'] });
export const AccessPolicy = Type.Object({
  field_classification: Type.Record(
    Type.String(),
    Type.String({ enum: ['basic', 'personal', 'sensitive'] }),
    {
      description: 'the classification in force for every field (defaults with the tenant’s overrides)',
    },
  ),
  role_field_access: Type.Record(Type.String(), Type.Object({ personal: StageOut, sensitive: StageOut }), {
    description: 'the role × classification table in force',
  }),
  separation_of_duties: Type.Boolean(),
  overrides: Type.Object({
    field_classification: Type.Record(Type.String(), Type.String()),
    role_field_access: Type.Record(Type.String(), Type.Record(Type.String(), Type.String())),
  }),
});
export type AccessPolicy = Static<typeof AccessPolicy>;

export const TenantSettings = Type.Object(
  {
    consent_grace_days: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 90,
        description: 'read-only grace after consent expiry (default 30, at most 90)',
      }),
    ),
    consent_requires_verification: Type.Optional(
      Type.Boolean({ description: 'consents with full evidence stay pending until verified' }),
    ),
    default_phone_country: Type.Optional(
      Type.String({
        pattern: '^[A-Z]{2}$',
        description: 'ISO 3166-1 alpha-2 country for national phone formats',
      }),
    ),
    require_totp: Type.Optional(
      Type.Boolean({
        description:
          'people of the tenant must sign in with a second factor (TOTP); they enrol at their next sign-in',
      }),
    ),
    field_classification: Type.Optional(FieldClassificationOverrides),
    role_field_access: Type.Optional(RoleFieldAccessOverrides),
    separation_of_duties: Type.Optional(
      Type.Boolean({
        description:
          'true (default): a client cannot verify a person, household or consent it registered or captured itself; ' +
          'false relaxes this for small teams',
      }),
    ),
  },
  { additionalProperties: false },
);
export type TenantSettings = Static<typeof TenantSettings>;

export const TenantCode = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9_-]{1,31}$',
  examples: ['ke-nairobi'],
});

export const TenantCreate = Body({
  name: Type.String({ minLength: 1, maxLength: 200, examples: ['Kenya Social Registry'] }),
  code: TenantCode,
  settings: Type.Optional(TenantSettings),
});
export type TenantCreate = Static<typeof TenantCreate>;

export const TenantPatch = Body({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('suspended')])),
  settings: Type.Optional(TenantSettings),
});
export type TenantPatch = Static<typeof TenantPatch>;

export const Tenant = Type.Object({
  tenant_id: Uuid(),
  name: Type.String(),
  code: Type.String(),
  status: Type.String({ enum: ['active', 'suspended'] }),
  settings: TenantSettings,
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type Tenant = Static<typeof Tenant>;

export const VerticalCreate = Body({
  code: Type.String({ pattern: '^[A-Z][A-Z0-9_]{1,31}$', examples: ['SOCIAL'] }),
  name: Type.String({ minLength: 1, maxLength: 200 }),
});
export type VerticalCreate = Static<typeof VerticalCreate>;

export const Vertical = Type.Object({
  vertical_id: Uuid(),
  code: Type.String(),
  name: Type.String(),
  is_system: Type.Boolean(),
  created_at: DateTime(),
});
export type Vertical = Static<typeof Vertical>;

export const SYSTEM_VERTICALS = [
  { code: 'HEALTH', name: 'Health' },
  { code: 'EDU', name: 'Education' },
  { code: 'ECON', name: 'Economic inclusion' },
  { code: 'FIN', name: 'Financial services' },
  { code: 'DATA', name: 'Data and statistics' },
] as const;
