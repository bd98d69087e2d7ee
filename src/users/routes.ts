import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { etagOf, parseIfMatch } from '../http/etag.js';
import { Page, PageQuery, Uuid } from '../http/schemas.js';
import { PasswordReset, User, UserCreate, UserPatch, UserWithPassword } from './schemas.js';

const Params = Type.Object({ user_id: Uuid() });
const managers = { roles: ['tenant_admin'] } as const;
const tags = ['users'];

/** People who sign in: tenant admins manage their tenant's users, ROOT every tenant's. */
export const userRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { users } = app.hearth.services;

  app.post(
    '/api/v1/users',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary: 'Create a user; without a password, a one-time password is returned once',
        body: UserCreate,
        response: { 201: UserWithPassword },
      },
    },
    async (request, reply) => {
      const user = await users.create(request.actor!, request.body);
      return reply
        .code(201)
        .header('Cache-Control', 'no-store')
        .header('ETag', etagOf(user.version_id))
        .send(user);
    },
  );

  app.get(
    '/api/v1/users',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary: 'List users (ROOT: any tenant, filter with tenant_id; tenant admins: their own)',
        querystring: Type.Object({ ...PageQuery, tenant_id: Type.Optional(Uuid()) }),
        response: { 200: Page(User) },
      },
    },
    async (request) => users.list(request.actor!, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/users/:user_id',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary: 'Get a user (never its password or second-factor secret)',
        params: Params,
        response: { 200: User },
      },
    },
    async (request, reply) => {
      const user = await users.get(request.actor!, request.params.user_id);
      return reply.header('ETag', etagOf(user.version_id)).send(user);
    },
  );

  app.patch(
    '/api/v1/users/:user_id',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary: 'Change a user’s name, roles, scopes, verticals, programmes or state (If-Match optional)',
        description:
          'Role and scope changes apply to the user’s open sessions at their next request; active=false ends them at once.',
        params: Params,
        body: UserPatch,
        response: { 200: User },
      },
    },
    async (request, reply) => {
      const user = await users.patch(
        request.actor!,
        request.params.user_id,
        request.body,
        parseIfMatch(request.headers['if-match']),
      );
      return reply.header('ETag', etagOf(user.version_id)).send(user);
    },
  );

  for (const [action, active] of [
    ['deactivate', false],
    ['activate', true],
  ] as const) {
    app.post(
      `/api/v1/users/:user_id/${action}`,
      {
        config: { auth: managers },
        schema: {
          tags,
          summary: active
            ? 'Reactivate a user'
            : 'Deactivate a user; its sessions end at once (users are never deleted)',
          params: Params,
          response: { 200: User },
        },
      },
      async (request) => users.setActive(request.actor!, request.params.user_id, active),
    );
  }

  app.post(
    '/api/v1/users/:user_id/reset-password',
    {
      config: { auth: managers },
      schema: {
        tags,
        summary: 'Issue a one-time password (shown once); the user’s sessions end and a lockout is lifted',
        params: Params,
        response: { 200: PasswordReset },
      },
    },
    async (request, reply) =>
      reply
        .header('Cache-Control', 'no-store')
        .send(await users.resetPassword(request.actor!, request.params.user_id)),
  );
};
