// The bare baseline: a minimal Fastify + pg server answering the same queries as the Hearth routes
// under test, with no auth, validation, audit or tenancy. Started by bench/run.ts on BASELINE_PORT.
import Fastify from 'fastify';
import pg from 'pg';
import { baselineRoutes } from './cases.js';

const pool = new pg.Pool({
  connectionString: process.env.DATABASE_URL,
  max: Number(process.env.POOL_SIZE ?? 10),
});
const app = Fastify({ logger: false });
for (const route of baselineRoutes) {
  app.route({
    method: route.method,
    url: route.url,
    handler: async (request, reply) =>
      route.handle(pool, request.params as Record<string, string>, request.body, reply),
  });
}
await app.listen({ port: Number(process.env.BASELINE_PORT ?? 18181), host: '127.0.0.1' });
process.stdout.write('ready\n');
process.on('SIGTERM', () => {
  app
    .close()
    .then(() => pool.end())
    .then(() => process.exit(0));
});
