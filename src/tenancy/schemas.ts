import { type Static, Type } from 'typebox';
import { Body, DateTime, Uuid } from '../http/schemas.js';

export const Classification = Type.Union([
  Type.Literal('basic'),
  Type.Literal('personal'),
  Type.Literal('sensitive'),
]);

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
    field_classification: Type.Optional(
      Type.Record(Type.String({ pattern: '^[a-z_.]{1,64}$' }), Classification, {
        description: 'overrides of the default classification of person fields',
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
