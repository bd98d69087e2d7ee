import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { conflict } from '../http/errors.js';
import { errorResponses } from '../http/schemas.js';
import { BackupRefused, snapshotEmbedded } from './backup.js';

/** GET /api/v1/backup: a snapshot of the embedded database while it runs (what `hearth backup` calls). */
export const backupRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/api/v1/backup',
    {
      config: { auth: { roles: ['root'] } },
      schema: {
        tags: ['operations'],
        summary: 'Consistent snapshot of the embedded database (gzip tar of its data folder; ROOT only)',
        description:
          'Embedded database only; on PostgreSQL it answers 409 and points to pg_dump or a base backup with WAL archiving. Restore with `hearth restore FILE` into an empty HEARTH_DATA_DIR.',
        response: {
          200: {
            description: 'gzip-compressed tar of the data folder',
            content: {
              'application/gzip': { schema: Type.Unsafe<Buffer>({ type: 'string', format: 'binary' }) },
            },
          },
          ...errorResponses(409),
        },
      },
    },
    async (_request, reply) => {
      try {
        const data = await snapshotEmbedded(app.hearth.db);
        return reply
          .type('application/gzip')
          .header('content-disposition', 'attachment; filename="hearth-backup.tar.gz"')
          .send(data);
      } catch (err) {
        if (err instanceof BackupRefused) throw conflict(err.message);
        throw err;
      }
    },
  );
};
