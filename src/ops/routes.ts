import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { isMigrated, loadMigrations } from '../db/migrate.js';
import { AppError } from '../http/errors.js';
import { ProblemSchema } from '../http/schemas.js';

const Status = Type.Object({ status: Type.String({ examples: ['ok'] }) });

/** Health, readiness, metrics and the OpenAPI document. */
export const opsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const expectedVersions = loadMigrations().map((m) => m.version);
  app.get(
    '/healthz',
    {
      config: { auth: { public: true } },
      schema: { tags: ['operations'], summary: 'Process is up', response: { 200: Status } },
    },
    async () => ({ status: 'ok' }),
  );

  app.get(
    '/readyz',
    {
      config: { auth: { public: true } },
      schema: {
        tags: ['operations'],
        summary: 'Database reachable and fully migrated, and the process not shutting down',
        response: { 200: Status, 503: ProblemSchema },
      },
    },
    async (_request, reply) => {
      if (app.hearth.lifecycle.draining) throw new AppError('ERR_SYS_UNAVAILABLE', 'shutting down');
      const ready = await isMigrated(app.hearth.db, expectedVersions).catch(() => false);
      if (!ready) throw new AppError('ERR_SYS_UNAVAILABLE', 'database unreachable or not migrated');
      return reply.send({ status: 'ok' });
    },
  );

  app.get(
    '/metrics',
    {
      config: { auth: { roles: ['root'] } },
      schema: {
        tags: ['operations'],
        summary: 'Prometheus metrics (ROOT token required)',
        produces: ['text/plain'],
        response: { 200: Type.String() },
      },
    },
    async (_request, reply) => {
      const { registry } = app.hearth.metrics;
      return reply.type(registry.contentType).send(await registry.metrics());
    },
  );

  app.get(
    '/openapi.json',
    {
      config: { auth: { public: true } },
      schema: { tags: ['operations'], summary: 'This OpenAPI 3.1 description', hide: true },
    },
    async () => app.swagger(),
  );
};
