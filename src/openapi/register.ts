import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../config.js';
import { namedSchemas } from './components.js';
import { finishDocument } from './document.js';
import { describeOperation } from './operations.js';
import { securitySchemes } from './security.js';

export async function registerOpenApi(app: FastifyInstance, config: Config): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Hearth',
        version: '0.1.0',
        description:
          'Registry and data-exchange server for social protection programmes. Errors are RFC 9457 ' +
          'problem details (application/problem+json) with a stable `code` and a `correlation_id`. ' +
          'Lists answer `{data, next_cursor}` and take `limit` (≤ 200) and an opaque `cursor`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      servers: [{ url: config.publicUrl, description: 'this Hearth server (HEARTH_PUBLIC_URL)' }],
      components: {
        securitySchemes: securitySchemes(config.publicUrl) as never,
        // Given to @fastify/swagger so they go through the same conversion as the route schemas;
        // finishDocument then refers to them and drops those no route uses.
        schemas: namedSchemas() as never,
      },
    },
    // OpenAPI 3.1 has `const`; turning it into a one-value enum would only lose the intent.
    convertConstToEnum: false,
    transform: describeOperation as never,
    transformObject: finishDocument as never,
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { docExpansion: 'list', deepLinking: true },
  });
}
