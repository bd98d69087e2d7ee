import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { Page } from '../http/schemas.js';
import {
  Contract,
  ContractCreate,
  ContractListQuery,
  ContractParams,
  ContractPatch,
  EmptyBody,
  IntegrationParams,
  IntegrationVersion,
  ReasonBody,
} from './schemas.js';

const tags = ['integrations'];
const read = { scopes: ['integrations:read'] } as const;
const manage = { scopes: ['integrations:manage'] } as const;

/** Contracts of an integration: registered by integrationRoutes (same plugin, same hooks). */
export const contractRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { contracts } = app.hearth.services.integrations;

  app.get(
    '/api/v1/integrations/:integration_id/contracts',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'List the contracts of an integration',
        params: IntegrationParams,
        querystring: ContractListQuery,
        response: { 200: Page(Contract) },
      },
    },
    async (request) =>
      contracts.list(request.actor!, request.params.integration_id, {
        ...request.query,
        limit: request.query.limit ?? 50,
      }),
  );

  app.post(
    '/api/v1/integrations/:integration_id/contracts',
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Add a data contract (status draft): purpose, categories, field list, consent requirements',
        params: IntegrationParams,
        body: ContractCreate,
        response: { 201: Contract },
      },
    },
    async (request, reply) =>
      reply
        .code(201)
        .send(await contracts.create(request.actor!, request.params.integration_id, request.body)),
  );

  app.get(
    '/api/v1/integrations/:integration_id/contracts/:contract_id',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Get a contract (in_force tells whether exchanges may use it now)',
        params: ContractParams,
        response: { 200: Contract },
      },
    },
    async (request) =>
      contracts.get(request.actor!, request.params.integration_id, request.params.contract_id),
  );

  app.patch(
    '/api/v1/integrations/:integration_id/contracts/:contract_id',
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Change a draft contract (a new version); active and archived contracts are immutable',
        params: ContractParams,
        body: ContractPatch,
        response: { 200: Contract },
      },
    },
    async (request) =>
      contracts.patch(
        request.actor!,
        request.params.integration_id,
        request.params.contract_id,
        request.body,
      ),
  );

  app.get(
    '/api/v1/integrations/:integration_id/contracts/:contract_id/versions',
    {
      config: { auth: read },
      schema: {
        tags,
        summary: 'Version history of a contract',
        params: ContractParams,
        response: { 200: Type.Object({ data: Type.Array(IntegrationVersion) }) },
      },
    },
    async (request) => ({
      data: await contracts.versions(
        request.actor!,
        request.params.integration_id,
        request.params.contract_id,
      ),
    }),
  );

  app.post(
    '/api/v1/integrations/:integration_id/contracts/:contract_id/activate',
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Activate a draft contract (draft → active)',
        params: ContractParams,
        body: EmptyBody,
        response: { 200: Contract },
      },
    },
    async (request) =>
      contracts.activate(request.actor!, request.params.integration_id, request.params.contract_id),
  );

  app.post(
    '/api/v1/integrations/:integration_id/contracts/:contract_id/archive',
    {
      config: { auth: manage },
      schema: {
        tags,
        summary: 'Archive a contract (final)',
        params: ContractParams,
        body: ReasonBody,
        response: { 200: Contract },
      },
    },
    async (request) =>
      contracts.archive(
        request.actor!,
        request.params.integration_id,
        request.params.contract_id,
        request.body,
      ),
  );
};
