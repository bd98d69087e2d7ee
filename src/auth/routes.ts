import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { buildProblem, toAppError } from '../http/problem.js';
import { errorResponses } from '../http/schemas.js';
import { asOAuthError, clientCredentialsGrant } from './oauth.js';

export const TokenResponse = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.Integer({ examples: [3600] }),
  scope: Type.String({ examples: ['persons:read households:read'] }),
});

export const TokenRequestBody = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ examples: ['client_credentials'] })),
    client_id: Type.Optional(Type.String()),
    client_secret: Type.Optional(Type.String()),
    scope: Type.Optional(Type.String({ description: 'space-separated subset of the client’s scopes' })),
  },
  {
    additionalProperties: true,
    description: 'form-urlencoded or JSON; credentials may instead be sent as HTTP Basic',
  },
);

const Jwk = Type.Object(
  { kty: Type.String(), kid: Type.String(), use: Type.String(), alg: Type.String() },
  { additionalProperties: true },
);

/** POST /oauth/token, GET /.well-known/jwks.json and signing-key rotation. */
export const authRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app.hearth;
  await app.register(tokenEndpoint);

  app.get(
    '/.well-known/jwks.json',
    {
      config: { auth: { public: true } },
      schema: {
        tags: ['auth'],
        summary: 'Public keys that verify Hearth access tokens',
        response: { 200: Type.Object({ keys: Type.Array(Jwk) }) },
      },
    },
    async (_request, reply) =>
      reply.header('Cache-Control', 'public, max-age=300').send(services.keys.jwks()),
  );
};

/**
 * A token endpoint's refusal: application/json (RFC 6749 §5.2) with `error`, `error_description`
 * and the problem fields, never cached. Every token endpoint (native, V2) renders through here.
 */
export function sendTokenError(request: FastifyRequest, reply: FastifyReply, err: unknown): FastifyReply {
  const { error, internal } = toAppError(err);
  if (internal) request.log.error({ err }, 'token endpoint failed');
  const shaped = asOAuthError(error);
  if (shaped.headers) reply.headers(shaped.headers);
  return reply
    .code(shaped.status)
    .type('application/json')
    .header('Cache-Control', 'no-store')
    .send(buildProblem(shaped, request.id, request.url.split('?')[0]));
}

/** The token endpoint answers errors as application/json (RFC 6749 §5.2) with the problem fields too. */
const tokenEndpoint: FastifyPluginAsyncTypebox = async (app) => {
  const { services } = app.hearth;
  app.setErrorHandler((err, request, reply) => sendTokenError(request, reply, err));

  app.post(
    '/oauth/token',
    {
      config: { auth: { public: true }, auditPublic: false },
      schema: {
        tags: ['auth'],
        summary: 'OAuth 2.0 client credentials token (RFC 6749 §4.4)',
        description:
          'Credentials in an HTTP Basic header or in the body (form or JSON). Errors carry the RFC 6749 ' +
          '`error` and `error_description` fields alongside the problem fields.',
        // One body schema checks both media types; `consumes` tells the OpenAPI document so.
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: TokenRequestBody,
        response: { 200: TokenResponse, ...errorResponses(400, 401, 422, 429) },
      },
    },
    async (request, reply) => {
      const token = await clientCredentialsGrant(services.oauth, {
        body: (request.body ?? {}) as Record<string, unknown>,
        authorization: request.headers.authorization,
        ip: request.ip,
        correlationId: request.id,
      });
      return reply.header('Cache-Control', 'no-store').header('Pragma', 'no-cache').send(token);
    },
  );
};
