import { type Static, Type } from 'typebox';
import { RoleSchema, ScopeSchema } from '../clients/schemas.js';
import { Body, DateTime, Nullable, Uuid } from '../http/schemas.js';

export const Username = Type.String({
  pattern: '^[A-Za-z0-9][A-Za-z0-9._@-]{1,99}$',
  description: 'unique across the deployment, compared without regard to case',
  examples: ['amina.registrar'],
});

const Grant = {
  roles: Type.Array(RoleSchema, { minItems: 1, maxItems: 7, uniqueItems: true }),
  scopes: Type.Optional(
    Type.Array(ScopeSchema, { uniqueItems: true, description: 'limits the user below its roles’ defaults' }),
  ),
  vertical_ids: Type.Optional(Type.Array(Uuid(), { uniqueItems: true, maxItems: 100 })),
  allowed_programs: Type.Optional(Type.Array(Uuid(), { uniqueItems: true, maxItems: 500 })),
};

export const UserCreate = Body({
  username: Username,
  display_name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  email: Type.Optional(Type.String({ minLength: 3, maxLength: 320, format: 'email' })),
  tenant_id: Type.Optional(
    Uuid('tenant of the user; omitted for ROOT users and for tenant admins (their own)'),
  ),
  ...Grant,
  password: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 1024,
      description:
        'initial password (policy: minimum length, not a common password); omitted: a one-time password is generated and returned once, to be changed at first sign-in',
    }),
  ),
});
export type UserCreate = Static<typeof UserCreate>;

export const UserPatch = Body({
  display_name: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 200 }))),
  email: Type.Optional(Nullable(Type.String({ minLength: 3, maxLength: 320, format: 'email' }))),
  roles: Type.Optional(Grant.roles),
  scopes: Grant.scopes,
  vertical_ids: Grant.vertical_ids,
  allowed_programs: Grant.allowed_programs,
  active: Type.Optional(Type.Boolean({ description: 'false ends every session of the user at once' })),
  totp_reset: Type.Optional(
    Type.Literal(true, { description: 'removes the second factor; the user enrols again' }),
  ),
  unlock: Type.Optional(Type.Literal(true, { description: 'lifts a lockout after failed sign-ins' })),
});
export type UserPatch = Static<typeof UserPatch>;

export const User = Type.Object({
  user_id: Uuid(),
  username: Type.String(),
  display_name: Nullable(Type.String()),
  email: Nullable(Type.String()),
  tenant_id: Nullable(Uuid()),
  roles: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  vertical_ids: Type.Array(Type.String()),
  allowed_programs: Type.Array(Type.String()),
  active: Type.Boolean(),
  auth_source: Type.String({ enum: ['local', 'oidc'], description: 'local password or identity provider' }),
  has_password: Type.Boolean(),
  password_must_change: Type.Boolean(),
  totp_enabled: Type.Boolean(),
  locked_until: Nullable(DateTime()),
  last_login_at: Nullable(DateTime()),
  version_id: Type.Integer(),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type User = Static<typeof User>;

export const UserWithPassword = Type.Intersect([
  User,
  Type.Object({
    one_time_password: Type.Optional(
      Type.String({ description: 'shown once; the user must replace it at first sign-in' }),
    ),
  }),
]);
export type UserWithPassword = Static<typeof UserWithPassword>;

export const PasswordReset = Type.Object({
  user_id: Uuid(),
  username: Type.String(),
  one_time_password: Type.String({ description: 'shown once; every session of the user has ended' }),
});
export type PasswordReset = Static<typeof PasswordReset>;
