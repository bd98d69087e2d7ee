import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { AppError } from '../http/errors.js';
import { ProblemSchema } from '../http/schemas.js';
import { sessionCookieOptions } from './cookie.js';
import { OidcRefusal } from './oidc.js';
import { requestMeta } from './routes.js';
import { SESSION_COOKIE } from './service.js';

const tags = ['sessions'];
const isPublic = { auth: { public: true } } as const;
const Redirect = Type.Null({ description: 'redirect (Location header)' });

/** A browser navigation (it asks for HTML) is sent back to the sign-in page; an API caller gets JSON. */
const wantsHtml = (request: FastifyRequest) => /text\/html/.test(String(request.headers.accept ?? ''));

/** Single sign-on through the configured OpenID Connect provider (authorization code + PKCE). */
export const oidcRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { config } = app.hearth;
  const { oidc } = app.hearth.services;
  const cookie = sessionCookieOptions(config.sessions);
  const notConfigured = () => new AppError('ERR_NOT_FOUND', 'no identity provider is configured');

  app.get(
    '/auth/oidc/login',
    {
      config: isPublic,
      schema: {
        tags,
        summary: 'Start signing in at the identity provider (browser navigation)',
        description:
          'Redirects to the provider with PKCE (S256), state and nonce. `return_to` must be a path here.',
        querystring: Type.Object({ return_to: Type.Optional(Type.String({ maxLength: 2000 })) }),
        response: { 302: Redirect, 404: ProblemSchema },
      },
    },
    async (request, reply) => {
      if (!oidc) throw notConfigured();
      const url = await oidc.start(request.query.return_to);
      return reply.header('Cache-Control', 'no-store').redirect(url.toString(), 302);
    },
  );

  app.get(
    '/auth/oidc/callback',
    {
      config: isPublic,
      schema: {
        tags,
        summary: 'Where the identity provider sends the browser back; sets the session cookie',
        description:
          'Creates or updates the user from the claims and redirects to `return_to`. A refusal (unknown ' +
          'tenant claim, no mapped role, …) redirects to /console/sign-in?error=<reason>, or answers 403 ' +
          'problem+json to a caller that does not ask for HTML.',
        querystring: Type.Object({}, { additionalProperties: Type.String({ maxLength: 4096 }) }),
        response: { 302: Redirect, 403: ProblemSchema, 404: ProblemSchema },
      },
    },
    async (request, reply) => {
      if (!oidc) throw notConfigured();
      try {
        const issued = await oidc.finish(request.url, requestMeta(request));
        return reply
          .header('Cache-Control', 'no-store')
          .setCookie(SESSION_COOKIE, issued.token, { ...cookie, expires: issued.expiresAt })
          .redirect(issued.returnTo, 302);
      } catch (err) {
        if (!(err instanceof OidcRefusal)) throw err;
        request.log.warn({ reason: err.reason, detail: err.message }, 'identity-provider sign-in refused');
        if (wantsHtml(request)) {
          return reply.redirect(`/console/sign-in?error=${encodeURIComponent(err.reason)}`, 302);
        }
        throw new AppError('ERR_SEC_FORBIDDEN', err.message, { extra: { reason: err.reason } });
      }
    },
  );
};
