import { type Static, Type } from 'typebox';
import { Body, DateTime, Nullable, Uuid } from '../http/schemas.js';

export const LoginBody = Body(
  {
    username: Type.String({ minLength: 1, maxLength: 200 }),
    password: Type.String({ minLength: 1, maxLength: 1024 }),
    totp: Type.Optional(Type.String({ maxLength: 16, description: 'current code of the second factor' })),
  },
  { description: 'JSON or application/x-www-form-urlencoded' },
);
export type LoginBody = Static<typeof LoginBody>;

export const SessionUser = Type.Object({
  id: Uuid('public id of the user'),
  username: Type.String(),
  display_name: Nullable(Type.String()),
  tenant_id: Nullable(Uuid()),
  tenant_code: Nullable(Type.String()),
  roles: Type.Array(Type.String()),
  scopes: Type.Array(Type.String()),
  verticals: Type.Array(Type.String({ description: 'vertical id' }), {
    description: 'verticals the user is limited to; empty means every vertical of the tenant',
  }),
  allowed_programs: Type.Array(Type.String(), { description: 'empty means every programme' }),
  is_root: Type.Boolean(),
});

export const SessionOut = Type.Object({
  user: SessionUser,
  csrf_token: Type.String({
    description: 'send as X-CSRF-Token on every non-GET request made with the cookie',
  }),
  expires_at: DateTime('absolute end of the session'),
  idle_expires_at: DateTime('end of the session if it is not used before'),
  restriction: Nullable(
    Type.String({
      enum: ['password_change', 'totp_enrolment'],
      description: 'the session may only complete sign-in until this is done',
    }),
  ),
  auth_method: Type.String({ enum: ['password', 'oidc'] }),
});

export const Providers = Type.Object({
  local: Type.Boolean({ description: 'username and password sign-in (POST /auth/login)' }),
  oidc: Nullable(
    Type.Object({
      name: Type.String({ description: 'display name of the identity provider' }),
      login_url: Type.String({ description: 'GET it in the browser (append ?return_to=/console/…)' }),
    }),
  ),
});

export const PasswordChange = Body({
  current_password: Type.String({ minLength: 1, maxLength: 1024 }),
  new_password: Type.String({ minLength: 1, maxLength: 1024 }),
});

export const TotpSetup = Type.Object({
  secret: Type.String({ description: 'base32 secret for the authenticator app' }),
  otpauth_uri: Type.String({ description: 'otpauth:// URI (render as a QR code)' }),
});

export const TotpConfirm = Body({ code: Type.String({ pattern: '^[0-9]{6}$' }) });
