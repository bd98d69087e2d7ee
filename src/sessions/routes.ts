import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../http/errors.js';
import { ProblemSchema } from '../http/schemas.js';
import { sessionCookieOptions } from './cookie.js';
import { LoginBody, PasswordChange, Providers, SessionOut, TotpConfirm, TotpSetup } from './schemas.js';
import { type RequestMeta, type ResolvedSession, SESSION_COOKIE, type SessionService } from './service.js';

const tags = ['sessions'];
const isPublic = { auth: { public: true } } as const;
const problems = { 400: ProblemSchema, 401: ProblemSchema, 403: ProblemSchema, 429: ProblemSchema };

export function requestMeta(request: FastifyRequest): RequestMeta {
  const ua = request.headers['user-agent'];
  return { ip: request.ip, userAgent: typeof ua === 'string' ? ua : null, correlationId: request.id };
}

function csrfHeader(request: FastifyRequest): string | undefined {
  const raw = request.headers['x-csrf-token'];
  return Array.isArray(raw) ? raw[0] : raw;
}

/** The cookie's session for the /auth routes that act on it (CSRF checked on POST). */
async function currentSession(
  sessions: SessionService,
  request: FastifyRequest,
  reply: FastifyReply,
  csrf: boolean,
): Promise<ResolvedSession> {
  const token = request.cookies[SESSION_COOKIE];
  if (!token) throw new AppError('ERR_AUTH_INVALID', 'not signed in');
  try {
    const session = await sessions.resolve(token);
    if (csrf) sessions.assertCsrf(session, csrfHeader(request));
    return session;
  } catch (err) {
    if (err instanceof AppError && err.status === 401) reply.clearCookie(SESSION_COOKIE, { path: '/' });
    throw err;
  }
}

/** Browser sign-in with a local account, the session, sign-out, password change, TOTP enrolment. */
export const sessionRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app.hearth;
  const { sessions } = app.hearth.services;
  const cookie = sessionCookieOptions(config.sessions);

  // Browser fetch clients send `Content-Type: application/json` on a POST without a body (sign-out,
  // TOTP setup); on these routes an empty JSON body is no body, not a malformed one.
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = String(body);
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch {
      done(Object.assign(new SyntaxError('request body is not valid JSON'), { statusCode: 400 }), undefined);
    }
  });

  app.get(
    '/auth/providers',
    {
      config: isPublic,
      schema: {
        tags,
        summary: 'How people can sign in here (no authentication)',
        response: { 200: Providers },
      },
    },
    async () => ({
      local: true,
      oidc: config.oidc ? { name: config.oidc.name, login_url: '/auth/oidc/login' } : null,
    }),
  );

  app.post(
    '/auth/login',
    {
      config: isPublic,
      schema: {
        tags,
        summary: 'Sign in with a username and password (and TOTP code); sets the hearth_session cookie',
        description:
          'Wrong credentials answer 401 ERR_AUTH_INVALID without saying which part was wrong; a missing ' +
          'second factor 401 ERR_AUTH_TOTP_REQUIRED; a locked account 429 ERR_AUTH_LOCKED with Retry-After.',
        body: LoginBody,
        response: { 200: SessionOut, ...problems },
      },
    },
    async (request, reply) => {
      const issued = await sessions.login(request.body, requestMeta(request));
      return reply
        .header('Cache-Control', 'no-store')
        .setCookie(SESSION_COOKIE, issued.token, { ...cookie, expires: issued.expiresAt })
        .send(issued.body);
    },
  );

  app.get(
    '/auth/session',
    {
      config: isPublic,
      schema: {
        tags,
        summary: 'The signed-in person and the session’s CSRF token (cookie authentication)',
        response: { 200: SessionOut, ...problems },
      },
    },
    async (request, reply) => {
      const session = await currentSession(sessions, request, reply, false);
      return reply.header('Cache-Control', 'no-store').send(session.body);
    },
  );

  app.post(
    '/auth/logout',
    {
      config: isPublic,
      schema: {
        tags,
        summary: 'Sign out: ends the session (X-CSRF-Token required) and clears the cookie',
        response: { 204: Type.Null({ description: 'signed out' }), ...problems },
      },
    },
    async (request, reply) => {
      let session: ResolvedSession | null = null;
      try {
        session = await currentSession(sessions, request, reply, false);
      } catch (err) {
        if (!(err instanceof AppError && err.status === 401)) throw err;
      }
      if (session) {
        sessions.assertCsrf(session, csrfHeader(request));
        await sessions.logout(session, requestMeta(request));
      }
      return reply.clearCookie(SESSION_COOKIE, { path: '/' }).code(204).send(null);
    },
  );

  app.post(
    '/auth/password',
    {
      config: isPublic,
      schema: {
        tags,
        summary: 'Change the signed-in person’s password (and replace a one-time password)',
        description: 'Cookie authentication with X-CSRF-Token. The user’s other sessions end.',
        body: PasswordChange,
        response: { 200: SessionOut, ...problems },
      },
    },
    async (request, reply) => {
      const session = await currentSession(sessions, request, reply, true);
      await sessions.changePassword(session, request.body, requestMeta(request));
      const fresh = await sessions.resolve(request.cookies[SESSION_COOKIE]!);
      return reply.header('Cache-Control', 'no-store').send(fresh.body);
    },
  );

  app.post(
    '/auth/totp/setup',
    {
      config: isPublic,
      schema: {
        tags,
        summary: 'Start enrolling a TOTP second factor (RFC 6238); confirm with a code',
        response: { 200: TotpSetup, ...problems },
      },
    },
    async (request, reply) => {
      const session = await currentSession(sessions, request, reply, true);
      return reply.header('Cache-Control', 'no-store').send(await sessions.totpSetup(session));
    },
  );

  app.post(
    '/auth/totp/confirm',
    {
      config: isPublic,
      schema: {
        tags,
        summary: 'Confirm the TOTP second factor with a current code; required from the next sign-in',
        body: TotpConfirm,
        response: { 200: SessionOut, ...problems },
      },
    },
    async (request, reply) => {
      const session = await currentSession(sessions, request, reply, true);
      await sessions.totpConfirm(session, request.body.code, requestMeta(request));
      const fresh = await sessions.resolve(request.cookies[SESSION_COOKIE]!);
      return reply.header('Cache-Control', 'no-store').send(fresh.body);
    },
  );
};
