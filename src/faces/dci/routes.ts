import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { asOAuthError, clientCredentialsGrant } from '../../auth/oauth.js';
import type { Actor } from '../../auth/principal.js';
import { TokenRequestBody } from '../../auth/routes.js';
import { isScope, type Scope } from '../../auth/scopes.js';
import { toAppError } from '../../http/problem.js';
import type { DciEndpoint } from './render.js';
import { sendDciError } from './render.js';
import { AckResponse, CallbackEnvelope, DciErrorBody, EnvelopeBody } from './schemas.js';
import type { DciService } from './service.js';

/** DCI token scopes → Hearth scopes (docs/decisions/0062-dci-access.md). */
export function dciScope(name: string): Scope[] | null {
  if (name === 'registry.search' || name === 'registry.subscribe') return ['dci:search'];
  return isScope(name) ? [name] : null;
}

const ERRORS = Object.fromEntries(
  [400, 401, 403, 409, 413, 415, 422, 429, 500].map((s) => [s, DciErrorBody]),
);
const tags = ['dci'];

const DciToken = Type.Object({
  access_token: Type.String(),
  token_type: Type.Literal('Bearer'),
  expires_in: Type.String({ description: 'seconds, as a string (DCI authz API)', examples: ['3600'] }),
  scope: Type.String(),
});

const ENDPOINTS: { path: string; endpoint: Exclude<DciEndpoint, 'token'>; summary: string; sync: boolean }[] =
  [
    {
      path: '/registry/sync/search',
      endpoint: 'sync-search',
      summary: 'Search the registry and answer at once (on-search)',
      sync: true,
    },
    {
      path: '/registry/search',
      endpoint: 'search',
      summary: 'Search; ACK now, on-search to the caller later',
      sync: false,
    },
    {
      path: '/registry/sync/txn/status',
      endpoint: 'sync-txn-status',
      summary: 'Status (and results) of an earlier transaction, at once',
      sync: true,
    },
    {
      path: '/registry/txn/status',
      endpoint: 'txn-status',
      summary: 'Transaction status; ACK now, txn/on-status later',
      sync: false,
    },
    {
      path: '/registry/subscribe',
      endpoint: 'subscribe',
      summary: 'Subscribe to registry events; ACK now, on-subscribe later',
      sync: false,
    },
    {
      path: '/registry/unsubscribe',
      endpoint: 'unsubscribe',
      summary: 'End subscriptions by code; ACK now, on-unsubscribe later',
      sync: false,
    },
  ];

const HANDLER: Record<Exclude<DciEndpoint, 'token'>, keyof DciService> = {
  'sync-search': 'syncSearch',
  search: 'asyncSearch',
  'sync-txn-status': 'syncTxnStatus',
  'txn-status': 'asyncTxnStatus',
  subscribe: 'subscribe',
  unsubscribe: 'unsubscribe',
};

/**
 * The DCI Social Registry face, mounted at /dci: token API, key set and the six registry
 * endpoints. Routes only translate: the envelope goes to the DCI service, refusals are rendered
 * the DCI way (render.ts).
 */
export const dciRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { services, config } = app.hearth;
  const dci = services.dci;

  app.setErrorHandler((err, request, reply) => {
    const { error, internal } = toAppError(err);
    if (internal) request.log.error({ err }, 'DCI request failed');
    const endpoint = request.routeOptions.config.dci ?? 'search';
    // The token API is an OAuth token endpoint: its refusals carry the RFC 6749 `error` too.
    const shaped = endpoint === 'token' ? asOAuthError(error) : error;
    return sendDciError(request, reply, shaped, endpoint, config.dci.participantId);
  });

  app.post(
    '/oauth2/client/token',
    {
      config: { auth: { public: true }, auditPublic: true, dci: 'token' },
      schema: {
        tags,
        summary: 'DCI token API: OAuth 2.0 client credentials (form or JSON)',
        description:
          'Scopes `registry.search` and `registry.subscribe` map to `dci:search`. The token is the same EdDSA ' +
          'JWT as /oauth/token; `expires_in` is a string, as in the DCI authz API.',
        // Both media types are parsed (the form parser of app.ts, or JSON) and validated against
        // the one body schema; `consumes` only tells the OpenAPI document so.
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: TokenRequestBody,
        response: { 200: DciToken, ...ERRORS },
      },
    },
    async (request, reply) => {
      const body = (request.body ?? {}) as Record<string, unknown>;
      const token = await clientCredentialsGrant(services.oauth, {
        body,
        authorization: request.headers.authorization,
        ip: request.ip,
        correlationId: request.id,
        mapScope: dciScope,
      });
      return reply
        .header('Cache-Control', 'no-store')
        .header('Pragma', 'no-cache')
        .send({
          access_token: token.access_token,
          token_type: 'Bearer' as const,
          expires_in: String(token.expires_in),
          scope: typeof body.scope === 'string' && body.scope.trim() !== '' ? body.scope.trim() : token.scope,
        });
    },
  );

  app.get(
    '/.well-known/jwks.json',
    {
      config: { auth: { public: true } },
      schema: {
        tags,
        summary: 'Keys that verify our tokens and the signatures of our DCI envelopes',
        response: {
          200: Type.Object({
            keys: Type.Array(
              Type.Object(
                { kty: Type.String(), kid: Type.String(), use: Type.String(), alg: Type.String() },
                { additionalProperties: true },
              ),
            ),
          }),
        },
      },
    },
    async (_request, reply) =>
      reply.header('Cache-Control', 'public, max-age=300').send(services.keys.jwks()),
  );

  for (const e of ENDPOINTS) {
    app.post(
      e.path,
      {
        config: { auth: { scopes: ['dci:search'] }, dci: e.endpoint },
        schema: {
          tags,
          summary: e.summary,
          body: EnvelopeBody,
          response: { 200: e.sync ? CallbackEnvelope : AckResponse, ...ERRORS },
        },
      },
      async (request, reply) => {
        const handler = dci[HANDLER[e.endpoint]] as (
          actor: Actor,
          body: EnvelopeBody,
        ) => Promise<Record<string, unknown>>;
        const answer = await handler(request.actor!, request.body as EnvelopeBody);
        return reply
          .type('application/json; charset=utf-8')
          .header('Cache-Control', 'no-store')
          .serializer(JSON.stringify)
          .send(answer);
      },
    );
  }
};
