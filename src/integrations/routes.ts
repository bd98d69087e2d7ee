import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Page } from '../http/schemas.js';
import { contractRoutes } from './contract-routes.js';
import {
  ActivateBody,
  ApproveBody,
  Integration,
  IntegrationActivated,
  IntegrationCreate,
  IntegrationListQuery,
  IntegrationParams,
  IntegrationPatch,
  IntegrationVersion,
  ReasonBody,
  RequestReviewBody,
  ReviewBody,
} from './schemas.js';
import { templateRoutes } from './template-routes.js';

const tags = ['integrations'];
const read = { scopes: ['integrations:read'] } as const;
const manage = { scopes: ['integrations:manage'] } as const;

/**
 * Integrations, their lifecycle, contracts and the template registry under /api/v1/integrations.
 * Routes only translate: every rule lives in the services.
 */
export const integrationRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { integrations } = app.hearth.services;

  // Actions without input and bodies left out entirely are validated as `{}`: a missing body
  // gets the same per-field 422 as an empty one, and unknown fields are still refused.
  app.addHook('preValidation', async (request) => {
    if (request.body === undefined || request.body === null) request.body = {};
  });

  app.get(
    '/api/v1/integrations',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'List the tenant’s integrations (filters: status, partner_type, vertical_id)',
        querystring: IntegrationListQuery,
        response: { 200: Page(Integration) },
      },
    },
    async (request) =>
      integrations.list(request.actor!, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.post(
    '/api/v1/integrations',
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Register an integration (status draft)',
        body: IntegrationCreate,
        response: { 201: Integration },
      },
    },
    async (request, reply) => reply.code(201).send(await integrations.create(request.actor!, request.body)),
  );

  app.get(
    '/api/v1/integrations/:integration_id',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Get an integration with its status, verticals and client id (never a secret)',
        params: IntegrationParams,
        response: { 200: Integration },
      },
    },
    async (request) => integrations.get(request.actor!, request.params.integration_id),
  );

  app.patch(
    '/api/v1/integrations/:integration_id',
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Change an integration (names in any status but archived; scope only while draft)',
        params: IntegrationParams,
        body: IntegrationPatch,
        response: { 200: Integration },
      },
    },
    async (request) => integrations.patch(request.actor!, request.params.integration_id, request.body),
  );

  app.get(
    '/api/v1/integrations/:integration_id/versions',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Version history of an integration: every change and status transition',
        params: IntegrationParams,
        response: { 200: Type.Object({ data: Type.Array(IntegrationVersion) }) },
      },
    },
    async (request) => ({ data: await integrations.versions(request.actor!, request.params.integration_id) }),
  );

  app.post(
    '/api/v1/integrations/:integration_id/request-review',
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Submit a draft integration for review (draft → requested)',
        params: IntegrationParams,
        body: RequestReviewBody,
        response: { 200: Integration },
      },
    },
    async (request) =>
      integrations.requestReview(request.actor!, request.params.integration_id, request.body),
  );

  app.post(
    '/api/v1/integrations/:integration_id/review',
    {
      config: { auth: { scopes: ['integrations:review'] } },
      schema: {
        tags,
        summary: 'Review a requested integration (→ reviewed), or return it to draft with notes',
        params: IntegrationParams,
        body: ReviewBody,
        response: { 200: Integration },
      },
    },
    async (request) => integrations.review(request.actor!, request.params.integration_id, request.body),
  );

  app.post(
    '/api/v1/integrations/:integration_id/approve',
    {
      config: { auth: { scopes: ['integrations:approve'] } },
      schema: {
        tags,
        summary: 'Approve a reviewed integration; not by whoever requested or reviewed it',
        params: IntegrationParams,
        body: ApproveBody,
        response: { 200: Integration },
      },
    },
    async (request) => integrations.approve(request.actor!, request.params.integration_id, request.body),
  );

  app.post(
    '/api/v1/integrations/:integration_id/activate',
    {
      config: { auth: manage },
      schema: {
        tags,
        summary:
          'Activate (from approved, restricted or suspended); the first activation issues the ' +
          'integration’s API client and returns its secret once',
        params: IntegrationParams,
        body: ActivateBody,
        response: { 200: IntegrationActivated },
      },
    },
    async (request, reply) =>
      reply
        .header('Cache-Control', 'no-store')
        .send(await integrations.activate(request.actor!, request.params.integration_id, request.body)),
  );

  const statusActions = [
    ['restrict', 'Restrict (read-only: pulls allowed, pushes refused)'],
    ['suspend', 'Suspend (no access at all; the client’s live tokens stop working at once)'],
    ['deprecate', 'Deprecate (no new exchanges)'],
    ['archive', 'Archive (final: the integration and its contracts become immutable)'],
  ] as const;
  for (const [action, summary] of statusActions) {
    app.post(
      `/api/v1/integrations/:integration_id/${action}`,
      {
        config: { auth: manage },
        schema: {
          tags,
          summary,
          params: IntegrationParams,
          body: ReasonBody,
          response: { 200: Integration },
        },
      },
      async (request) => integrations[action](request.actor!, request.params.integration_id, request.body),
    );
  }

  await contractRoutes(app, {});
  await templateRoutes(app, {});
};
