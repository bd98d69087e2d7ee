import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Page } from '../http/schemas.js';
import { AuditEventSchema, AuditQuery, ChainVerification } from './schemas.js';

export const auditRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const { audit } = app.hearth.services;

  app.get(
    '/api/v1/audit-events',
    {
      config: { auth: { scopes: ['audit:read'] } },
      schema: {
        tags: ['audit'],
        summary: 'Audit events of the tenant (ROOT: X-Tenant-Id, or events outside any tenant)',
        querystring: AuditQuery,
        response: { 200: Page(AuditEventSchema) },
      },
    },
    async (request) => audit.list(request.actor!, { ...request.query, limit: request.query.limit ?? 50 }),
  );

  app.get(
    '/api/v1/audit-events/verify',
    {
      config: { auth: { scopes: ['audit:read'] } },
      schema: {
        tags: ['audit'],
        summary: 'Recompute the tenant’s audit hash chain and report the first break',
        response: { 200: ChainVerification },
      },
    },
    async (request) => audit.verify(request.actor!),
  );
};
