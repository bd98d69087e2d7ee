import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { AppError } from '../../http/errors.js';
import { sendProblem, toAppError } from '../../http/problem.js';
import { processBundle } from './batch.js';
import { groupRoutes } from './group-routes.js';
import { individualRoutes } from './individual-routes.js';
import { v2MetaRoutes } from './meta-routes.js';
import { v2ProgramRoutes } from './program-routes.js';
import { BundleIn, BundleOut } from './schemas.js';
import { apiClientSource, V2_API_VERSION, v2Error } from './support.js';
import { unitOfWork } from './unit-of-work.js';
import { vocabularyRoutes } from './vocabulary-routes.js';

/**
 * The OpenSPP API V2 compatible face, mounted at /api/v2/spp: schemas and mapping only, every
 * request one unit of work over the domain services (docs/decisions/0051–0054).
 */
export const v2SppRoutes: FastifyPluginAsyncTypebox = async (app) => {
  await app.register(
    async (plain) => {
      const v2 = plain.withTypeProvider<TypeBoxTypeProvider>();
      const uow = unitOfWork(app.hearth);
      // Every answer of the face carries the version, refusals included: the auth hook runs
      // before this one and answers through the error handler below, which sets it too.
      v2.addHook('onRequest', async (_request, reply) => {
        reply.header('X-API-Version', V2_API_VERSION);
      });
      // Runs after the auth hook (onRequest): a write without a named source records the client.
      v2.addHook('preHandler', async (request) => {
        if (request.actor && request.actor.sourceSystem === null) {
          request.actor.sourceSystem = apiClientSource(request.actor.principal.clientId);
        }
      });
      v2.addContentTypeParser(
        'application/merge-patch+json',
        { parseAs: 'string' },
        v2.getDefaultJsonParser('error', 'error'),
      );
      v2.setErrorHandler((err, request, reply) => {
        const { error, internal } = toAppError(err);
        if (internal) request.log.error({ err }, 'unhandled error');
        reply.header('X-API-Version', V2_API_VERSION);
        return sendProblem(request, reply, v2Error(error, request.method, request.routeOptions.url));
      });
      v2.setNotFoundHandler((request, reply) => {
        reply.header('X-API-Version', V2_API_VERSION);
        return sendProblem(
          request,
          reply,
          new AppError('ERR_NOT_FOUND', `no route for ${request.method} ${request.url.split('?')[0]}`),
        );
      });
      await v2.register(v2MetaRoutes);
      await v2.register(vocabularyRoutes);
      await v2.register(individualRoutes);
      await v2.register(groupRoutes);
      await v2.register(v2ProgramRoutes);

      v2.post(
        '/$batch',
        {
          config: { auth: {} },
          schema: {
            tags: ['openspp-v2'],
            summary:
              'A transaction (all or nothing) or batch Bundle; each entry needs the scope of its operation',
            body: BundleIn,
            response: { 200: BundleOut },
          },
        },
        (request) => processBundle(uow, request.actor!, request.body, request.id),
      );
    },
    { prefix: '/api/v2/spp' },
  );
};
