import { type Static, Type } from 'typebox';
import { ROLES, SCOPES } from '../auth/scopes.js';
import { Body, DateTime, Nullable, Uuid } from '../http/schemas.js';

export const RoleSchema = Type.String({ enum: [...ROLES] });
export const ScopeSchema = Type.String({ enum: [...SCOPES] });

export const ClientCreate = Body({
  name: Type.String({ minLength: 1, maxLength: 200, examples: ['Payments gateway'] }),
  tenant_id: Type.Optional(
    Uuid('tenant of the client; omitted for ROOT clients and for tenant admins (their own)'),
  ),
  roles: Type.Array(RoleSchema, { minItems: 1, maxItems: 7, uniqueItems: true }),
  scopes: Type.Optional(
    Type.Array(ScopeSchema, {
      uniqueItems: true,
      description: 'limits the client below its roles’ defaults',
    }),
  ),
  vertical_ids: Type.Optional(Type.Array(Uuid(), { uniqueItems: true, maxItems: 100 })),
  allowed_programs: Type.Optional(Type.Array(Uuid(), { uniqueItems: true, maxItems: 500 })),
  rate_limit_per_minute: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_000_000 })),
  active: Type.Optional(Type.Boolean()),
  consent_bound: Type.Optional(
    Type.Boolean({ description: 'reads need consent as for integrations, whatever the roles' }),
  ),
  source_system: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
});
export type ClientCreate = Static<typeof ClientCreate>;

export const Client = Type.Object({
  client_id: Type.String(),
  name: Type.String(),
  tenant_id: Nullable(Uuid()),
  roles: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  vertical_ids: Type.Array(Type.String()),
  allowed_programs: Type.Array(Type.String()),
  rate_limit_per_minute: Nullable(Type.Integer()),
  active: Type.Boolean(),
  consent_bound: Type.Boolean(),
  integration_id: Nullable(Type.String()),
  source_system: Nullable(Type.String()),
  version_id: Type.Integer({ description: 'bumped by every change; send it as If-Match' }),
  created_at: DateTime(),
  updated_at: DateTime(),
});
export type Client = Static<typeof Client>;

export const ClientPatch = Body({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  roles: Type.Optional(Type.Array(RoleSchema, { minItems: 1, maxItems: 7, uniqueItems: true })),
  scopes: Type.Optional(
    Type.Array(ScopeSchema, {
      uniqueItems: true,
      description: 'limits the client below its roles’ defaults; omitted with roles: the new roles’ defaults',
    }),
  ),
  vertical_ids: Type.Optional(Type.Array(Uuid(), { uniqueItems: true, maxItems: 100 })),
  allowed_programs: Type.Optional(Type.Array(Uuid(), { uniqueItems: true, maxItems: 500 })),
  rate_limit_per_minute: Type.Optional(Nullable(Type.Integer({ minimum: 1, maximum: 1_000_000 }))),
  active: Type.Optional(Type.Boolean()),
  consent_bound: Type.Optional(
    Type.Boolean({
      description: 'reads need consent and follow a contract, as for integrations, whatever the roles',
    }),
  ),
});
export type ClientPatch = Static<typeof ClientPatch>;

export const ClientWithSecret = Type.Intersect([
  Client,
  Type.Object({ client_secret: Type.String({ description: 'shown once; store it now' }) }),
]);
export type ClientWithSecret = Static<typeof ClientWithSecret>;

export const RotatedSecret = Type.Object({
  client_id: Type.String(),
  client_secret: Type.String({ description: 'shown once; earlier tokens stop working' }),
  rotated_at: DateTime(),
});
