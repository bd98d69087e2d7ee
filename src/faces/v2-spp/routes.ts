import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { sendProblem, toAppError } from '../../http/problem.js';
import { processBundle } from './batch.js';
import { groupRoutes } from './group-routes.js';
import { individualRoutes } from './individual-routes.js';
import { v2MetaRoutes } from './meta-routes.js';
import { v2ProgramRoutes } from './program-routes.js';
import { BundleIn, BundleOut } from './schemas.js';
import { v2Error } from './support.js';
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
      v2.addHook('onRequest', async (_request, reply) => {
        reply.header('X-API-Version', '2.0.0');
      });
      v2.addContentTypeParser(
        'application/merge-patch+json',
        { parseAs: 'string' },
        v2.getDefaultJsonParser('error', 'error'),
      );
      v2.setErrorHandler((err, request, reply) => {
        const { error, internal } = toAppError(err);
        if (internal) request.log.error({ err }, 'unhandled error');
        return sendProblem(request, reply, v2Error(error));
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
