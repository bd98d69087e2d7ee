import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { etagOf, parseIfMatch } from '../http/etag.js';
import { Page, PageQuery, Uuid } from '../http/schemas.js';
import { Client, ClientCreate, ClientPatch, ClientWithSecret, RotatedSecret } from './schemas.js';

const Params = Type.Object({ client_id: Type.String({ pattern: '^[A-Za-z0-9._-]{3,64}$' }) });
const managers = { roles: ['tenant_admin'] } as const;
const tags = ['api clients'];

export const clientRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { clients } = app.hearth.services;

  app.post(
    '/api/v1/clients',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary: 'Create an API client; the secret is returned once',
        body: ClientCreate,
        response: { 201: ClientWithSecret },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .header('Cache-Control', 'no-store')
        .send(await clients.create(request.actor!, request.body)),
  );

  app.patch(
    '/api/v1/clients/:client_id',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary:
          'Change a client’s name, roles, scopes, verticals, programmes, consent binding, rate limit or state',
        description:
          'If-Match (the version_id) is honoured: 412 when the client changed since. A version row and an audit ' +
          'event record each change. A tenant admin never grants more than it holds (403). Narrowed roles, scopes, ' +
          'verticals and programmes apply to live tokens at their next request; widened scopes need a new token ' +
          '(a token keeps the scopes it was issued with); active=false ends every token at once.',
        params: Params,
        body: ClientPatch,
        response: { 200: Client },
      },
    },
    async (request, reply) => {
      const client = await clients.patch(
        request.actor!,
        request.params.client_id,
        request.body,
        parseIfMatch(request.headers['if-match']),
      );
      return reply.header('ETag', etagOf(client.version_id)).send(client);
    },
  );

  app.get(
    '/api/v1/clients',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary: 'List API clients (ROOT: any tenant, filter with tenant_id; tenant admins: their own)',
        querystring: Type.Object({ ...PageQuery, tenant_id: Type.Optional(Uuid()) }),
        response: { 200: Page(Client) },
      },
    },
    async (request) => clients.list(request.actor!, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/clients/:client_id',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary: 'Get an API client (never its secret)',
        params: Params,
        response: { 200: Client },
      },
    },
    async (request) => clients.get(request.actor!, request.params.client_id),
  );

  app.post(
    '/api/v1/clients/:client_id/rotate-secret',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary: 'Issue a new secret; tokens issued before stop working at once',
        params: Params,
        response: { 200: RotatedSecret },
      },
    },
    async (request, reply) =>
      reply
        .header('Cache-Control', 'no-store')
        .send(await clients.rotateSecret(request.actor!, request.params.client_id)),
  );

  for (const [action, active] of [
    ['deactivate', false],
    ['activate', true],
  ] as const) {
    app.post(
      `/api/v1/clients/:client_id/${action}`,
      {
        config: { auth: managers },
        schema: {
          tags,
          summary: active
            ? 'Reactivate a client'
            : 'Deactivate a client; its live tokens stop working at once',
          params: Params,
          response: { 200: Client },
        },
      },
      async (request) => clients.setActive(request.actor!, request.params.client_id, active),
    );
  }
};
