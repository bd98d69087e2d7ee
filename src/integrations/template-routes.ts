import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Page } from '../http/schemas.js';
import {
  InstantiateBody,
  Instantiated,
  Template,
  TemplateCreate,
  TemplateListQuery,
  TemplateParams,
} from './schemas.js';

const tags = ['integrations'];

/**
 * The shared registry of integration templates. Static `/registry` segments win over the
 * `:integration_id` parameter in Fastify's router, so these never reach the integration routes.
 */
export const templateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { templates } = app.hearth.services.integrations;

  app.get(
    '/api/v1/integrations/registry',
    {
      config: { auth: { scopes: ['integrations:read'] } },
      schema: {
        tags,
        summary: 'List integration templates shared across tenants (filters: partner_type, status)',
        querystring: TemplateListQuery,
        response: { 200: Page(Template) },
      },
    },
    async (request) => templates.list(request.actor!, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.post(
    '/api/v1/integrations/registry',
    {
      config: { auth: { roles: ['root'] } },
      schema: {
        tags,
        summary: 'Add an integration template (ROOT); verticals are named by code',
        body: TemplateCreate,
        response: { 201: Template },
      },
    },
    async (request, reply) => reply.code(201).send(await templates.create(request.actor!, request.body)),
  );

  app.post(
    '/api/v1/integrations/registry/:template_id/instantiate',
    {
      config: { auth: { roles: ['tenant_admin'], scopes: ['integrations:manage'] } },
      schema: {
        tags,
        summary:
          'Create a draft integration and its draft contract from a template in one tenant ' +
          '(ROOT: any tenant; tenant admins: their own)',
        params: TemplateParams,
        body: InstantiateBody,
        response: { 201: Instantiated },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await templates.instantiate(request.actor!, request.params.template_id, request.body)),
  );
};
