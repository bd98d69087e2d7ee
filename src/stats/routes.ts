import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ConsentStats,
  ConsentStatsQuery,
  HouseholdStats,
  ImportStats,
  IntegrationStats,
  PersonStats,
} from './schemas.js';

/** Dashboard statistics: aggregates only, each under the scope that reads the resource itself. */
export const statsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { stats } = app.hearth.services;

  app.get(
    '/api/v1/stats/persons',
    {
      config: { auth: { scopes: ['persons:read'] } },
      schema: {
        tags: ['statistics'],
        summary: 'Persons by status, gender, age band and registration month',
        response: { 200: PersonStats },
      },
    },
    async (request) => stats.persons(request.actor!),
  );

  app.get(
    '/api/v1/stats/households',
    {
      config: { auth: { scopes: ['households:read'] } },
      schema: { tags: ['statistics'], summary: 'Households by status', response: { 200: HouseholdStats } },
    },
    async (request) => stats.households(request.actor!),
  );

  app.get(
    '/api/v1/stats/consents',
    {
      config: { auth: { scopes: ['consents:read'] } },
      schema: {
        tags: ['statistics'],
        summary: 'Consents by status and vertical, expiring soon and in grace',
        querystring: ConsentStatsQuery,
        response: { 200: ConsentStats },
      },
    },
    async (request) => stats.consents(request.actor!, request.query.expiring_within_days ?? 30),
  );

  app.get(
    '/api/v1/stats/imports',
    {
      config: { auth: { scopes: ['persons:write'] } },
      schema: {
        tags: ['statistics'],
        summary:
          'Person imports of the last 30 days: runs by status and day, rows read, created, updated, rejected',
        response: { 200: ImportStats },
      },
    },
    async (request) => stats.imports(request.actor!),
  );

  app.get(
    '/api/v1/stats/integrations',
    {
      config: { auth: { scopes: ['integrations:read'] } },
      schema: {
        tags: ['statistics'],
        summary: 'Integrations by lifecycle state',
        response: { 200: IntegrationStats },
      },
    },
    async (request) => stats.integrations(request.actor!),
  );
};
